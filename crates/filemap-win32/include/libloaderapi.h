/* libloaderapi.h - the program's own module (exported by libfilemap_win32). There are no DLLs:
 * GetModuleHandle(NULL) is the program, any other name fails with ERROR_MOD_NOT_FOUND. */
#ifndef FILEMAP_LIBLOADERAPI_H
#define FILEMAP_LIBLOADERAPI_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize);
WINBASEAPI DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize);
WINBASEAPI HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName);
WINBASEAPI HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName);

#ifdef __cplusplus
}
#endif

#ifdef UNICODE
#define GetModuleFileName GetModuleFileNameW
#define GetModuleHandle GetModuleHandleW
#else
#define GetModuleFileName GetModuleFileNameA
#define GetModuleHandle GetModuleHandleA
#endif

#endif /* FILEMAP_LIBLOADERAPI_H */
