/* consoleapi.h - console functions as no-ops that succeed (exported by libfilemap_win32):
 * a Linux process already has its terminal or its redirections. */
#ifndef FILEMAP_CONSOLEAPI_H
#define FILEMAP_CONSOLEAPI_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI BOOL WINAPI AllocConsole(void);
WINBASEAPI BOOL WINAPI FreeConsole(void);
WINBASEAPI BOOL WINAPI SetConsoleTitleA(LPCSTR lpConsoleTitle);
WINBASEAPI BOOL WINAPI SetConsoleTitleW(LPCWSTR lpConsoleTitle);
WINBASEAPI HWND WINAPI GetConsoleWindow(void);

#ifdef __cplusplus
}
#endif

#ifdef UNICODE
#define SetConsoleTitle SetConsoleTitleW
#else
#define SetConsoleTitle SetConsoleTitleA
#endif

#endif /* FILEMAP_CONSOLEAPI_H */
