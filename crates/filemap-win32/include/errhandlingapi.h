/* errhandlingapi.h - thread last-error value (exported by libfilemap_win32). */
#ifndef FILEMAP_ERRHANDLINGAPI_H
#define FILEMAP_ERRHANDLINGAPI_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI DWORD WINAPI GetLastError(void);
WINBASEAPI void WINAPI SetLastError(DWORD dwErrCode);

#ifdef __cplusplus
}
#endif

#endif
