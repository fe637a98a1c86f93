/* windows.h - the Win32 API subset of filemap-win32 for LP64 Linux.
 *
 * Types and constants have Win32's exact values and sizes (DWORD and LONG 32-bit, HANDLE
 * pointer-sized), except WCHAR: it is wchar_t as on Windows, which is 32-bit on Linux, so
 * L"..." literals, std::wstring and the wcs* functions work (sizeof(WCHAR) == 4). Functions are
 * exported by libfilemap_win32 (link with -lfilemap_win32). Works in C and C++. In UNICODE
 * builds TEXT("x") is L"x". #pragma comment(lib, ...) lines are ignored (and not warned about). */
#ifndef FILEMAP_WINDOWS_H
#define FILEMAP_WINDOWS_H

#define _WINDOWS_

/* Windows sources carry MSVC pragmas (#pragma comment(lib, ...), #pragma warning(...)):
 * GCC would warn about them under -Wall; they mean nothing here. */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "basetsd.h"
#include "winnt.h"
#include "minwindef.h"
#include "winerror.h"
#include "minwinbase.h"
#include "errhandlingapi.h"
#include "handleapi.h"
#include "fileapi.h"
#include "memoryapi.h"
#include "processthreadsapi.h"
#include "synchapi.h"
#include "sysinfoapi.h"
#include "winbase.h"
#include "libloaderapi.h"
#include "processenv.h"
#include "winuser.h"
#include "profileapi.h"
#include "winnls.h"
#include "consoleapi.h"
#include "filemap_crt.h"
#include "filemap_wchar.h"

#endif /* FILEMAP_WINDOWS_H */
