/* tchar.h - generic-text mappings (filemap-win32).
 *
 * Without _UNICODE, TCHAR functions are the C library's char functions. With
 * -DUNICODE -D_UNICODE, _TCHAR is WCHAR (wchar_t), _T("x")/TEXT("x") are L"x" literals, and
 * the _t* functions are the wide functions, as with MSVC: glibc's wcs* functions and the wide
 * CRT of filemap_wchar.h (MSVC's printf rules, UTF-8 on the console).
 *
 * _tmain: without _UNICODE it is main. With _UNICODE it is wmain, as with MSVC: a program's
 * wmain is called by a main in libfilemap_win32 (see filemap_wchar.h). */
#ifndef FILEMAP_TCHAR_H
#define FILEMAP_TCHAR_H

#include "filemap_crt.h"
#include "winnt.h"

#pragma GCC diagnostic ignored "-Wunknown-pragmas"

#ifdef _UNICODE
#include "filemap_wchar.h"

typedef wchar_t _TCHAR;
typedef wchar_t _TSCHAR;
typedef wchar_t _TUCHAR;
typedef wchar_t _TXCHAR;
typedef wint_t _TINT;
#define __T(x) L##x
#define _TEOF WEOF

#define _tmain wmain
#define _tWinMain wWinMain
#define _tenviron _wenviron

#define _tprintf wprintf
#define _tprintf_s wprintf_s
#define _ftprintf fwprintf
#define _ftprintf_s fwprintf_s
#define _vtprintf vwprintf
#define _vtprintf_s vwprintf_s
#define _vftprintf vfwprintf
#define _vftprintf_s vfwprintf_s
#define _stprintf _swprintf
#define _stprintf_s swprintf_s
#define _vstprintf _vswprintf
#define _vstprintf_s vswprintf_s
#define _sntprintf _snwprintf
#define _sntprintf_s _snwprintf_s
#define _vsntprintf _vsnwprintf
#define _vsntprintf_s _vsnwprintf_s
#define _sctprintf _scwprintf
#define _tscanf wscanf
#define _tscanf_s wscanf_s
#define _ftscanf fwscanf
#define _ftscanf_s fwscanf_s
#define _stscanf swscanf
#define _stscanf_s swscanf_s
#define _putts _putws
#define _fputts fputws
#define _fgetts fgetws
#define _getts_s _getws_s
#define _gettchar getwchar
#define _puttchar putwchar
#define _fgettc fgetwc
#define _fputtc fputwc
#define _gettc getwc
#define _puttc putwc
#define _puttch _putwch
#define _tfopen _wfopen
#define _tfopen_s _wfopen_s
#define _tperror _wperror
#define _tremove _wremove
#define _trename _wrename
#define _tsystem _wsystem

#define _tcslen wcslen
#define _tcsnlen wcsnlen
#define _tcsclen wcslen
#define _tcscpy wcscpy
#define _tcscpy_s wcscpy_s
#define _tcsncpy wcsncpy
#define _tcsncpy_s wcsncpy_s
#define _tcscat wcscat
#define _tcscat_s wcscat_s
#define _tcsncat wcsncat
#define _tcsncat_s wcsncat_s
#define _tcscmp wcscmp
#define _tcsncmp wcsncmp
#define _tcsicmp _wcsicmp
#define _tcsnicmp _wcsnicmp
#define _tcschr wcschr
#define _tcsrchr wcsrchr
#define _tcsstr wcsstr
#define _tcstok _wcstok
#define _tcstok_s wcstok_s
#define _tcspbrk wcspbrk
#define _tcsspn wcsspn
#define _tcscspn wcscspn
#define _tcsdup _wcsdup
#define _tcslwr _wcslwr
#define _tcsupr _wcsupr
#define _tcslwr_s _wcslwr_s
#define _tcsupr_s _wcsupr_s
#define _tcsrev _wcsrev
#define _tcsftime wcsftime
#define _tcstol wcstol
#define _tcstoul wcstoul
#define _tcstoi64 _wcstoi64
#define _tcstoui64 _wcstoui64
#define _tcstod wcstod
#define _ttoi _wtoi
#define _tstoi _wtoi
#define _ttol _wtol
#define _tstol _wtol
#define _ttoi64 _wtoi64
#define _tstoi64 _wtoi64
#define _tstof _wtof
#define _ttof _wtof
#define _itot _itow
#define _itot_s _itow_s
#define _ltot _ltow
#define _ltot_s _ltow_s
#define _ultot _ultow
#define _i64tot _i64tow
#define _i64tot_s _i64tow_s
#define _ui64tot _ui64tow
#define _totlower towlower
#define _totupper towupper
#define _istdigit iswdigit
#define _istspace iswspace
#define _istalpha iswalpha
#define _istalnum iswalnum
#define _istupper iswupper
#define _istlower iswlower
#define _istpunct iswpunct
#define _istprint iswprint
#define _istxdigit iswxdigit

/* wcstok_s (MSVC, C11 Annex K order): glibc's three-argument wcstok. */
#ifndef wcstok_s
#define wcstok_s wcstok
#endif

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
#define _fgettc fgetc
#define _fputtc fputc
#define _gettc getc
#define _puttc putc
#define _puttch _putch
#define _fputts fputs
#define _ftscanf fscanf
#define _ftscanf_s fscanf_s
#define _vtprintf_s vprintf
#define _vftprintf_s vfprintf
#define _vstprintf vsprintf
#define _vsntprintf_s _vsnprintf_s
#define _tfopen fopen
#define _tfopen_s fopen_s
#define _tperror perror
#define _tremove remove
#define _trename rename
#define _tsystem system
#define _tcsnlen strnlen_s
#define _tcsncat strncat
#define _tcsncat_s strncat_s
#define _tcsnicmp strncasecmp
#define _tcspbrk strpbrk
#define _tcsspn strspn
#define _tcscspn strcspn
#define _tcstok_s strtok_s
#define _tcslwr _strlwr
#define _tcsupr _strupr
#define _tcsftime strftime
#define _tcstod strtod
#define _tcstoi64 strtoll
#define _tcstoui64 strtoull
#define _ttoi64 atoll
#define _tstoi64 atoll
#define _tstof atof
#define _ttof atof
#define _tstol atol
#define _ltot _ltoa
#define _ltot_s _ltoa_s
#define _ultot _ultoa
#define _i64tot _i64toa
#define _i64tot_s _i64toa_s
#define _ui64tot _ui64toa
#define _istalnum isalnum
#define _istupper isupper
#define _istlower islower
#define _istpunct ispunct
#define _istprint isprint
#define _istxdigit isxdigit

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
