/* aclapi.h - security information of kernel objects (filemap-win32, LP64 Linux).
 * GetSecurityInfo/SetSecurityInfo return the Win32 error code (0 on success). */
#ifndef FILEMAP_ACLAPI_H
#define FILEMAP_ACLAPI_H

#include "securitybaseapi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum _SE_OBJECT_TYPE {
    SE_UNKNOWN_OBJECT_TYPE = 0,
    SE_FILE_OBJECT,
    SE_SERVICE,
    SE_PRINTER,
    SE_REGISTRY_KEY,
    SE_LMSHARE,
    SE_KERNEL_OBJECT,
    SE_WINDOW_OBJECT,
    SE_DS_OBJECT,
    SE_DS_OBJECT_ALL,
    SE_PROVIDER_DEFINED_OBJECT,
    SE_WMIGUID_OBJECT,
    SE_REGISTRY_WOW64_32KEY,
    SE_REGISTRY_WOW64_64KEY
} SE_OBJECT_TYPE;

WINBASEAPI DWORD WINAPI GetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType, SECURITY_INFORMATION SecurityInfo,
                                        PSID *ppsidOwner, PSID *ppsidGroup, PACL *ppDacl, PACL *ppSacl,
                                        PSECURITY_DESCRIPTOR *ppSecurityDescriptor);
WINBASEAPI DWORD WINAPI SetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType, SECURITY_INFORMATION SecurityInfo,
                                        PSID psidOwner, PSID psidGroup, PACL pDacl, PACL pSacl);

#ifdef __cplusplus
}
#endif

#endif /* FILEMAP_ACLAPI_H */
