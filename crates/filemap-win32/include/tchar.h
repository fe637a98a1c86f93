/* tchar.h - generic-text mappings (filemap-win32).
 *
 * Without _UNICODE, TCHAR functions are the C library's char functions. With
 * -DUNICODE -D_UNICODE, _TCHAR is the 16-bit WCHAR, _T("x")/TEXT("x") are 16-bit u"x"
 * literals, and the _t* functions map to the UTF-16 helpers of filemap_wchar16.h (Linux's
 * wchar_t is 32-bit, so the wcs and wprintf functions cannot be used); _tprintf prints UTF-8.
 *
 * _tmain: without _UNICODE it is main. With _UNICODE it is wmain, as with MSVC, and this
 * header supplies a (weak) main that converts argv to UTF-16 and calls it; the forms
 * int _tmain(void), int _tmain(int, _TCHAR **) and int _tmain(int, _TCHAR **, _TCHAR **) all
 * work, in C and in C++. */
#ifndef FILEMAP_TCHAR_H
#define FILEMAP_TCHAR_H

#include "filemap_crt.h"
#include "winnt.h"

#pragma GCC diagnostic ignored "-Wunknown-pragmas"

#ifdef _UNICODE
#include "filemap_wchar16.h"

typedef WCHAR _TCHAR;
typedef WCHAR _TSCHAR;
typedef WCHAR _TUCHAR;
typedef WCHAR _TXCHAR;
typedef int _TINT;
#define __T(x) u##x
#define _TEOF (-1)

#define _tmain wmain
#define _tWinMain wWinMain

#define _tprintf __fm_printf16
#define _tprintf_s __fm_printf16
#define _ftprintf __fm_fprintf16
#define _ftprintf_s __fm_fprintf16
#define _vtprintf(f, a) __fm_vfprintf16(stdout, f, a)
#define _vftprintf __fm_vfprintf16
#define _stprintf __fm_sprintf16
#define _stprintf_s __fm_sprintf16_s
#define _sntprintf __fm_snprintf16
#define _sntprintf_s(b, cap, count, ...) __fm_sprintf16_s(b, (cap) < (count) + 1 || (count) == _TRUNCATE ? (cap) : (count) + 1, __VA_ARGS__)
#define _vstprintf_s __fm_vsnprintf16
#define _vsntprintf __fm_vsnprintf16
#define _tscanf __fm_scanf16
#define _tscanf_s __fm_scanf16_s
#define _stscanf __fm_sscanf16
#define _stscanf_s __fm_sscanf16_s
#define _putts __fm_puts16
#define _fgetts __fm_fgets16
#define _getts_s __fm_gets16_s

#define _tcslen __fm_wcslen
#define _tcsclen __fm_wcslen
#define _tcscpy __fm_wcscpy
#define _tcscpy_s __fm_wcscpy_s
#define _tcsncpy __fm_wcsncpy
#define _tcscat __fm_wcscat
#define _tcscat_s __fm_wcscat_s
#define _tcscmp __fm_wcscmp
#define _tcsncmp __fm_wcsncmp
#define _tcsicmp __fm_wcsicmp
#define _tcschr __fm_wcschr
#define _tcsstr __fm_wcsstr
#define _tcstol __fm_wcstol
#define _ttoi __fm_wtoi
#define _tstoi __fm_wtoi
#define _ttol(s) ((long)__fm_wcstol(s, NULL, 10))
#define _itot __fm_itow
#define _itot_s __fm_itow_s
#define _totlower __fm_towlower
#define _totupper __fm_towupper
#define _istdigit(c) ((c) >= '0' && (c) <= '9')
#define _istspace(c) ((c) == ' ' || ((c) >= 9 && (c) <= 13))
#define _istalpha(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

/* The entry point: a weak main converting argv to UTF-16 and calling the program's wmain. */
#ifdef __cplusplus
int wmain(void) __attribute__((weak));
int wmain(int, WCHAR **) __attribute__((weak));
int wmain(int, WCHAR **, WCHAR **) __attribute__((weak));
#else
int wmain() __attribute__((weak));
#endif
static inline __attribute__((unused)) WCHAR **__fm_wide_argv(int argc, char **argv)
{
    WCHAR **w = (WCHAR **)calloc((size_t)argc + 1, sizeof(WCHAR *));
    int i;
    for (i = 0; w && i < argc; i++) {
        size_t n = __fm_from_utf8(argv[i], NULL, 0);
        w[i] = (WCHAR *)malloc((n + 1) * sizeof(WCHAR));
        if (w[i])
            __fm_from_utf8(argv[i], w[i], n + 1);
    }
    return w;
}
__attribute__((weak)) int main(int argc, char **argv)
{
    WCHAR **wargv = __fm_wide_argv(argc, argv);
#ifdef __cplusplus
    int (*f3)(int, WCHAR **, WCHAR **) = wmain;
    int (*f2)(int, WCHAR **) = wmain;
    int (*f0)(void) = wmain;
    if (f3)
        return f3(argc, wargv, NULL);
    if (f2)
        return f2(argc, wargv);
    if (f0)
        return f0();
#else
    if (wmain)
        return wmain(argc, wargv, (WCHAR **)NULL);
#endif
    fputs("filemap-win32: no wmain/_tmain in the program\n", stderr);
    return 1;
}

#else /* ANSI */

typedef char _TCHAR;
typedef signed char _TSCHAR;
typedef unsigned char _TUCHAR;
typedef char _TXCHAR;
typedef int _TINT;
#define __T(x) x
#define _TEOF EOF

#define _tmain main
#define _tWinMain WinMain

#define _tprintf printf
#define _tprintf_s printf
#define _ftprintf fprintf
#define _ftprintf_s fprintf
#define _vtprintf vprintf
#define _vftprintf vfprintf
#define _stprintf sprintf
#define _stprintf_s sprintf_s
#define _sntprintf _snprintf
#define _sntprintf_s _snprintf_s
#define _vstprintf_s vsprintf_s
#define _vsntprintf _vsnprintf
#define _tscanf scanf
#define _tscanf_s scanf_s
#define _stscanf sscanf
#define _stscanf_s sscanf_s
#define _putts puts
#define _fgetts fgets
#define _getts_s gets_s
#define _gettchar getchar
#define _puttchar putchar

#define _tcslen strlen
#define _tcsclen strlen
#define _tcscpy strcpy
#define _tcscpy_s strcpy_s
#define _tcsncpy strncpy
#define _tcsncpy_s strncpy_s
#define _tcscat strcat
#define _tcscat_s strcat_s
#define _tcscmp strcmp
#define _tcsncmp strncmp
#define _tcsicmp strcasecmp
#define _tcschr strchr
#define _tcsrchr strrchr
#define _tcsstr strstr
#define _tcstok strtok
#define _tcstol strtol
#define _tcstoul strtoul
#define _tcsdup strdup
#define _ttoi atoi
#define _tstoi atoi
#define _ttol atol
#define _itot _itoa
#define _itot_s _itoa_s
#define _totlower tolower
#define _totupper toupper
#define _istdigit isdigit
#define _istspace isspace
#define _istalpha isalpha

#endif /* _UNICODE */

#define _T(x) __T(x)
#define _TEXT(x) __T(x)

#endif /* FILEMAP_TCHAR_H */
