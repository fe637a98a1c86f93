/* processenv.h - command line and environment (exported by libfilemap_win32).
 * GetCommandLine rebuilds the command line from argv with Windows quoting. */
#ifndef FILEMAP_PROCESSENV_H
#define FILEMAP_PROCESSENV_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI LPSTR WINAPI GetCommandLineA(void);
WINBASEAPI LPWSTR WINAPI GetCommandLineW(void);
WINBASEAPI DWORD WINAPI GetEnvironmentVariableA(LPCSTR lpName, LPSTR lpBuffer, DWORD nSize);
WINBASEAPI DWORD WINAPI GetEnvironmentVariableW(LPCWSTR lpName, LPWSTR lpBuffer, DWORD nSize);
WINBASEAPI BOOL WINAPI SetEnvironmentVariableA(LPCSTR lpName, LPCSTR lpValue);
WINBASEAPI BOOL WINAPI SetEnvironmentVariableW(LPCWSTR lpName, LPCWSTR lpValue);
/* TRUE if a program search (CreateProcess) looks in the current directory for ExeName: always
 * for a name with a path separator, otherwise unless NoDefaultCurrentDirectoryInExePath is set. */
WINBASEAPI BOOL WINAPI NeedCurrentDirectoryForExePathA(LPCSTR ExeName);
WINBASEAPI BOOL WINAPI NeedCurrentDirectoryForExePathW(LPCWSTR ExeName);

#ifdef __cplusplus
}
#endif

#ifdef UNICODE
#define GetCommandLine GetCommandLineW
#define GetEnvironmentVariable GetEnvironmentVariableW
#define SetEnvironmentVariable SetEnvironmentVariableW
#define NeedCurrentDirectoryForExePath NeedCurrentDirectoryForExePathW
#else
#define GetCommandLine GetCommandLineA
#define GetEnvironmentVariable GetEnvironmentVariableA
#define SetEnvironmentVariable SetEnvironmentVariableA
#define NeedCurrentDirectoryForExePath NeedCurrentDirectoryForExePathA
#endif

#endif /* FILEMAP_PROCESSENV_H */
