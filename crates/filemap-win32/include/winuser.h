/* winuser.h - MessageBox as a console stand-in (exported by libfilemap_win32).
 * There are no windows: MessageBoxA/W write "caption: text" and a newline to standard output
 * (through C stdio, flushed) and return at once as if the first button had been pressed. */
#ifndef FILEMAP_WINUSER_H
#define FILEMAP_WINUSER_H

#include "minwindef.h"

#define MB_OK 0x00000000
#define MB_OKCANCEL 0x00000001
#define MB_ABORTRETRYIGNORE 0x00000002
#define MB_YESNOCANCEL 0x00000003
#define MB_YESNO 0x00000004
#define MB_RETRYCANCEL 0x00000005
#define MB_CANCELTRYCONTINUE 0x00000006
#define MB_ICONHAND 0x00000010
#define MB_ICONQUESTION 0x00000020
#define MB_ICONEXCLAMATION 0x00000030
#define MB_ICONASTERISK 0x00000040
#define MB_ICONWARNING MB_ICONEXCLAMATION
#define MB_ICONERROR MB_ICONHAND
#define MB_ICONINFORMATION MB_ICONASTERISK
#define MB_ICONSTOP MB_ICONHAND
#define MB_DEFBUTTON1 0x00000000
#define MB_DEFBUTTON2 0x00000100
#define MB_APPLMODAL 0x00000000
#define MB_SYSTEMMODAL 0x00001000
#define MB_TASKMODAL 0x00002000
#define MB_SETFOREGROUND 0x00010000
#define MB_TOPMOST 0x00040000

#define IDOK 1
#define IDCANCEL 2
#define IDABORT 3
#define IDRETRY 4
#define IDIGNORE 5
#define IDYES 6
#define IDNO 7
#define IDTRYAGAIN 10
#define IDCONTINUE 11

#ifdef __cplusplus
extern "C" {
#endif

WINUSERAPI int WINAPI MessageBoxA(HWND hWnd, LPCSTR lpText, LPCSTR lpCaption, UINT uType);
WINUSERAPI int WINAPI MessageBoxW(HWND hWnd, LPCWSTR lpText, LPCWSTR lpCaption, UINT uType);
/* MessageBeep: there is no sound device to play to; returns TRUE and prints nothing. */
WINUSERAPI BOOL WINAPI MessageBeep(UINT uType);

#ifdef __cplusplus
}
#endif

#ifdef UNICODE
#define MessageBox MessageBoxW
#else
#define MessageBox MessageBoxA
#endif

/* ShowWindow commands (STARTUPINFO.wShowWindow, WinMain's nCmdShow) */
#define SW_HIDE 0
#define SW_SHOWNORMAL 1
#define SW_NORMAL 1
#define SW_SHOWMINIMIZED 2
#define SW_SHOWMAXIMIZED 3
#define SW_MAXIMIZE 3
#define SW_SHOWNOACTIVATE 4
#define SW_SHOW 5
#define SW_MINIMIZE 6
#define SW_SHOWMINNOACTIVE 7
#define SW_SHOWNA 8
#define SW_RESTORE 9
#define SW_SHOWDEFAULT 10
#define SW_FORCEMINIMIZE 11
#define SW_MAX 11

/* wsprintf/wvsprintf: at most 1024 characters with the NUL (as on Windows, which also has no
 * floating-point conversions); the count written without the NUL. The wide forms follow MSVC's
 * wide printf rules (%s is a wide string). Inline (variadic). */
#include "filemap_wchar.h"
#define __FM_WSPRINTF_MAX 1024
static inline __attribute__((unused)) int wvsprintfA(LPSTR buf, LPCSTR fmt, va_list ap)
{
    int n;
    if (!buf || !fmt)
        return -1;
    n = vsnprintf(buf, __FM_WSPRINTF_MAX, fmt, ap);
    if (n < 0)
        return -1;
    return n < __FM_WSPRINTF_MAX ? n : __FM_WSPRINTF_MAX - 1;
}
static inline __attribute__((unused)) int wsprintfA(LPSTR buf, LPCSTR fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = wvsprintfA(buf, fmt, ap);
    va_end(ap);
    return n;
}
static inline __attribute__((unused)) int wvsprintfW(LPWSTR buf, LPCWSTR fmt, va_list ap)
{
    int n;
    if (!buf || !fmt)
        return -1;
    n = __fm_vformat_into(buf, __FM_WSPRINTF_MAX, fmt, ap);
    if (n < 0)
        return -1;
    return n < __FM_WSPRINTF_MAX ? n : __FM_WSPRINTF_MAX - 1;
}
static inline __attribute__((unused)) int wsprintfW(LPWSTR buf, LPCWSTR fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = wvsprintfW(buf, fmt, ap);
    va_end(ap);
    return n;
}
#ifdef UNICODE
#define wsprintf wsprintfW
#define wvsprintf wvsprintfW
#else
#define wsprintf wsprintfA
#define wvsprintf wvsprintfA
#endif

#endif /* FILEMAP_WINUSER_H */
