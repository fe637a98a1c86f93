/* sddl.h - security descriptor strings (filemap-win32, LP64 Linux). What these functions
 * allocate is freed with LocalFree. */
#ifndef FILEMAP_SDDL_H
#define FILEMAP_SDDL_H

#include "securitybaseapi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SDDL_REVISION_1 1
#define SDDL_REVISION SDDL_REVISION_1

WINBASEAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorA(LPCSTR StringSecurityDescriptor,
                                                                            DWORD StringSDRevision,
                                                                            PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                            PULONG SecurityDescriptorSize);
WINBASEAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
                                                                            DWORD StringSDRevision,
                                                                            PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                            PULONG SecurityDescriptorSize);
WINBASEAPI BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorA(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                                            DWORD RequestedStringSDRevision,
                                                                            SECURITY_INFORMATION SecurityInformation,
                                                                            LPSTR *StringSecurityDescriptor,
                                                                            PULONG StringSecurityDescriptorLen);
WINBASEAPI BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorW(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                                            DWORD RequestedStringSDRevision,
                                                                            SECURITY_INFORMATION SecurityInformation,
                                                                            LPWSTR *StringSecurityDescriptor,
                                                                            PULONG StringSecurityDescriptorLen);
WINBASEAPI BOOL WINAPI ConvertStringSidToSidA(LPCSTR StringSid, PSID *Sid);
WINBASEAPI BOOL WINAPI ConvertStringSidToSidW(LPCWSTR StringSid, PSID *Sid);
WINBASEAPI BOOL WINAPI ConvertSidToStringSidA(PSID Sid, LPSTR *StringSid);
WINBASEAPI BOOL WINAPI ConvertSidToStringSidW(PSID Sid, LPWSTR *StringSid);

#ifdef UNICODE
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorW
#define ConvertSecurityDescriptorToStringSecurityDescriptor ConvertSecurityDescriptorToStringSecurityDescriptorW
#define ConvertStringSidToSid ConvertStringSidToSidW
#define ConvertSidToStringSid ConvertSidToStringSidW
#else
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorA
#define ConvertSecurityDescriptorToStringSecurityDescriptor ConvertSecurityDescriptorToStringSecurityDescriptorA
#define ConvertStringSidToSid ConvertStringSidToSidA
#define ConvertSidToStringSid ConvertSidToStringSidA
#endif

#ifdef __cplusplus
}
#endif

#endif /* FILEMAP_SDDL_H */
