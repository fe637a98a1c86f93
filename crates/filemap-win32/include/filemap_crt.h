/* filemap_crt.h - the Microsoft "secure CRT" and other MSVC runtime extras that small Windows
 * programs call, as inline functions over the C library (filemap-win32, included by windows.h
 * and tchar.h).
 *
 * Error handling: MSVC calls the "invalid parameter handler" (which by default ends the
 * program) when a *_s function gets a NULL pointer, a zero size or a buffer that is too small.
 * Here the functions never end the program: they return EINVAL or ERANGE (or -1 / NULL for
 * the printf and gets families) and, when the destination is usable, leave it an empty string,
 * which is what MSVC leaves behind when the handler returns.
 *
 * scanf_s/fscanf_s/sscanf_s: as in MSVC, every %s, %c and %[ conversion takes a buffer and then
 * its size (an unsigned int). A string longer than the buffer is cut to fit (MSVC fails the
 * conversion instead). */
#ifndef FILEMAP_CRT_H
#define FILEMAP_CRT_H

#ifdef __cplusplus
#include <cstdlib> /* before the system macro below */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef _ERRCODE_DEFINED
#define _ERRCODE_DEFINED
typedef int errno_t;
#endif
#ifndef _RSIZE_T_DEFINED
#define _RSIZE_T_DEFINED
typedef size_t rsize_t;
#endif
#ifndef _TRUNCATE
#define _TRUNCATE ((size_t)-1)
#endif
#ifndef STRUNCATE
#define STRUNCATE 80
#endif

/* <stdlib.h>'s path component limits */
#ifndef _MAX_PATH
#define _MAX_PATH 260
#define _MAX_DRIVE 3
#define _MAX_DIR 256
#define _MAX_FNAME 256
#define _MAX_EXT 256
#endif

#ifndef _countof
#ifdef __cplusplus
extern "C++" {
template <typename _CountofType, size_t _SizeOfArray>
char (*__filemap_countof_helper(_CountofType (&_Array)[_SizeOfArray]))[_SizeOfArray];
}
#define _countof(_Array) (sizeof(*__filemap_countof_helper(_Array)))
#else
#define _countof(_Array) (sizeof(_Array) / sizeof((_Array)[0]))
#endif
#endif

#define _FILEMAP_CRT_INLINE static inline __attribute__((unused))

/* strnlen is POSIX, not ISO C: ours works under -std=c99/c11 too. */
_FILEMAP_CRT_INLINE size_t __filemap_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

_FILEMAP_CRT_INLINE errno_t strcpy_s(char *dest, rsize_t size, const char *src)
{
    size_t n;
    if (!dest || size == 0)
        return EINVAL;
    if (!src) {
        dest[0] = 0;
        return EINVAL;
    }
    n = strlen(src);
    if (n >= size) {
        dest[0] = 0;
        return ERANGE;
    }
    memcpy(dest, src, n + 1);
    return 0;
}

_FILEMAP_CRT_INLINE errno_t strncpy_s(char *dest, rsize_t size, const char *src, rsize_t count)
{
    size_t n;
    if (!dest || size == 0)
        return EINVAL;
    if (!src) {
        dest[0] = 0;
        return count == 0 ? 0 : EINVAL;
    }
    n = __filemap_strnlen(src, count == _TRUNCATE ? size : count);
    if (count == _TRUNCATE && n >= size) {
        memcpy(dest, src, size - 1);
        dest[size - 1] = 0;
        return STRUNCATE;
    }
    if (n >= size) {
        dest[0] = 0;
        return ERANGE;
    }
    memcpy(dest, src, n);
    dest[n] = 0;
    return 0;
}

_FILEMAP_CRT_INLINE errno_t strcat_s(char *dest, rsize_t size, const char *src)
{
    size_t d, n;
    if (!dest || size == 0)
        return EINVAL;
    if (!src) {
        dest[0] = 0;
        return EINVAL;
    }
    d = __filemap_strnlen(dest, size);
    if (d == size) {
        dest[0] = 0;
        return EINVAL; /* dest was not terminated */
    }
    n = strlen(src);
    if (d + n >= size) {
        dest[0] = 0;
        return ERANGE;
    }
    memcpy(dest + d, src, n + 1);
    return 0;
}

_FILEMAP_CRT_INLINE errno_t strncat_s(char *dest, rsize_t size, const char *src, rsize_t count)
{
    size_t d, n;
    if (!dest || size == 0)
        return EINVAL;
    if (!src) {
        dest[0] = 0;
        return count == 0 ? 0 : EINVAL;
    }
    d = __filemap_strnlen(dest, size);
    if (d == size) {
        dest[0] = 0;
        return EINVAL;
    }
    n = __filemap_strnlen(src, count == _TRUNCATE ? (size_t)-1 : count);
    if (d + n >= size) {
        if (count == _TRUNCATE) {
            memcpy(dest + d, src, size - d - 1);
            dest[size - 1] = 0;
            return STRUNCATE;
        }
        dest[0] = 0;
        return ERANGE;
    }
    memcpy(dest + d, src, n);
    dest[d + n] = 0;
    return 0;
}

_FILEMAP_CRT_INLINE size_t strnlen_s(const char *s, size_t max) { return s ? __filemap_strnlen(s, max) : 0; }

_FILEMAP_CRT_INLINE errno_t memcpy_s(void *dest, rsize_t size, const void *src, rsize_t count)
{
    if (count == 0)
        return 0;
    if (!dest)
        return EINVAL;
    if (!src || size < count) {
        memset(dest, 0, size);
        return src ? ERANGE : EINVAL;
    }
    memcpy(dest, src, count);
    return 0;
}

_FILEMAP_CRT_INLINE errno_t memmove_s(void *dest, rsize_t size, const void *src, rsize_t count)
{
    if (count == 0)
        return 0;
    if (!dest || !src)
        return EINVAL;
    if (size < count)
        return ERANGE;
    memmove(dest, src, count);
    return 0;
}

_FILEMAP_CRT_INLINE int vsprintf_s(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n;
    if (!buf || size == 0 || !fmt)
        return -1;
    n = vsnprintf(buf, size, fmt, ap);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = 0;
        return -1;
    }
    return n;
}

_FILEMAP_CRT_INLINE int sprintf_s(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_FILEMAP_CRT_INLINE int sprintf_s(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsprintf_s(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* _snprintf_s: at most `count` chars (or as many as fit with _TRUNCATE, returning -1). */
_FILEMAP_CRT_INLINE int _vsnprintf_s(char *buf, size_t size, size_t count, const char *fmt, va_list ap)
{
    int n;
    size_t limit;
    if (!buf || size == 0 || !fmt)
        return -1;
    limit = (count == _TRUNCATE || count >= size) ? size : count + 1;
    n = vsnprintf(buf, limit, fmt, ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= limit) {
        if (count == _TRUNCATE || count < size)
            return -1; /* truncated (buf holds what fits) */
        buf[0] = 0;
        return -1;
    }
    return n;
}

_FILEMAP_CRT_INLINE int _snprintf_s(char *buf, size_t size, size_t count, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_FILEMAP_CRT_INLINE int _snprintf_s(char *buf, size_t size, size_t count, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = _vsnprintf_s(buf, size, count, fmt, ap);
    va_end(ap);
    return n;
}

/* _snprintf: like snprintf, but when the output is longer than `count` it writes `count`
 * chars without a terminator and returns -1 (exactly `count` chars: no terminator, returns
 * count), as MSVC's. */
_FILEMAP_CRT_INLINE int _vsnprintf(char *buf, size_t count, const char *fmt, va_list ap)
{
    char *tmp;
    va_list ap2;
    int n;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -1;
    tmp = (char *)malloc((size_t)n + 1);
    if (!tmp)
        return -1;
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    if ((size_t)n < count) {
        memcpy(buf, tmp, (size_t)n + 1);
    } else {
        if (buf && count)
            memcpy(buf, tmp, count);
        if ((size_t)n > count)
            n = -1;
    }
    free(tmp);
    return n;
}

_FILEMAP_CRT_INLINE int _snprintf(char *buf, size_t count, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_FILEMAP_CRT_INLINE int _snprintf(char *buf, size_t count, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = _vsnprintf(buf, count, fmt, ap);
    va_end(ap);
    return n;
}

#define printf_s printf
#define fprintf_s fprintf
#define vprintf_s vprintf
#define vfprintf_s vfprintf

/* ---- integer to string ---- */
_FILEMAP_CRT_INLINE char *__filemap_ulltoa(unsigned long long v, char *buf, int radix, int negative)
{
    char tmp[72];
    int i = 0, j = 0;
    if (!buf)
        return buf;
    if (radix < 2 || radix > 36) {
        buf[0] = 0;
        return buf;
    }
    do {
        int d = (int)(v % (unsigned)radix);
        tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= (unsigned)radix;
    } while (v);
    if (negative)
        buf[j++] = '-';
    while (i)
        buf[j++] = tmp[--i];
    buf[j] = 0;
    return buf;
}

/* Signed values print with a '-' only in radix 10; other radixes show the two's complement of
 * the type's width, as MSVC's do. */
_FILEMAP_CRT_INLINE char *_itoa(int value, char *buf, int radix)
{
    if (radix == 10 && value < 0)
        return __filemap_ulltoa(0ull - (unsigned long long)(long long)value, buf, radix, 1);
    return __filemap_ulltoa(radix == 10 ? (unsigned long long)value : (unsigned int)value, buf, radix, 0);
}
_FILEMAP_CRT_INLINE char *itoa(int value, char *buf, int radix) { return _itoa(value, buf, radix); }
_FILEMAP_CRT_INLINE char *_ltoa(long value, char *buf, int radix)
{
    /* MSVC long is 32-bit: keep the Windows results for 32-bit values. */
    return _itoa((int)value, buf, radix);
}
_FILEMAP_CRT_INLINE char *ltoa(long value, char *buf, int radix) { return _ltoa(value, buf, radix); }
_FILEMAP_CRT_INLINE char *_ultoa(unsigned long value, char *buf, int radix)
{
    return __filemap_ulltoa((unsigned int)value, buf, radix, 0);
}
_FILEMAP_CRT_INLINE char *_i64toa(long long value, char *buf, int radix)
{
    if (radix == 10 && value < 0)
        return __filemap_ulltoa(0ull - (unsigned long long)value, buf, radix, 1);
    return __filemap_ulltoa((unsigned long long)value, buf, radix, 0);
}
_FILEMAP_CRT_INLINE char *_ui64toa(unsigned long long value, char *buf, int radix)
{
    return __filemap_ulltoa(value, buf, radix, 0);
}

_FILEMAP_CRT_INLINE errno_t _itoa_s(int value, char *buf, size_t size, int radix)
{
    char tmp[72];
    size_t n;
    if (!buf || size == 0)
        return EINVAL;
    if (radix < 2 || radix > 36) {
        buf[0] = 0;
        return EINVAL;
    }
    _itoa(value, tmp, radix);
    n = strlen(tmp);
    if (n >= size) {
        buf[0] = 0;
        return ERANGE;
    }
    memcpy(buf, tmp, n + 1);
    return 0;
}
_FILEMAP_CRT_INLINE errno_t _ltoa_s(long value, char *buf, size_t size, int radix)
{
    return _itoa_s((int)value, buf, size, radix);
}
_FILEMAP_CRT_INLINE errno_t _i64toa_s(long long value, char *buf, size_t size, int radix)
{
    char tmp[72];
    size_t n;
    if (!buf || size == 0)
        return EINVAL;
    if (radix < 2 || radix > 36) {
        buf[0] = 0;
        return EINVAL;
    }
    _i64toa(value, tmp, radix);
    n = strlen(tmp);
    if (n >= size) {
        buf[0] = 0;
        return ERANGE;
    }
    memcpy(buf, tmp, n + 1);
    return 0;
}

/* ---- input ---- */

/* gets_s: reads a line without its newline. NULL at end of input, or (discarding the rest of
 * the line) when it does not fit. */
_FILEMAP_CRT_INLINE char *gets_s(char *buf, rsize_t size)
{
    size_t n = 0;
    int c;
    if (!buf || size == 0)
        return NULL;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n + 1 < size)
            buf[n] = (char)c;
        n++;
    }
    if (c == EOF && n == 0) {
        buf[0] = 0;
        return NULL;
    }
    if (n >= size) {
        buf[0] = 0;
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = 0;
    return buf;
}

/* One scanf_s engine for streams and strings: each directive is handed to the C library's
 * scanf on its own, with the buffer size turned into a field width for %s, %c and %[. */
/* `secure`: %s, %c and %[ take a buffer size after the buffer (the *_s functions).
 * `widen`: when not NULL, those buffers are wchar_t arrays: the text is read as UTF-8 into a
 * temporary buffer and converted with `widen(text, dest, capacity_in_units)`. */
typedef size_t (*__filemap_widen_fn)(const char *, void *, size_t);
_FILEMAP_CRT_INLINE int __filemap_vscanf_impl(FILE *fp, const char **str, const char *fmt, va_list ap, int secure,
                                              __filemap_widen_fn widen)
{
    int assigned = 0;
    const char *p = fmt;
    char piece[512];
    while (*p) {
        size_t k = 0, m = 0;
        int suppress = 0, width = -1, conv, got, consumed;
        void *dest = NULL, *target;
        unsigned int size = 0;
        char mods[8];
        char *tmp = NULL;
        if (*p != '%' || p[1] == '%') {
            /* literal text or whitespace, up to the next conversion */
            while (*p && k < sizeof(piece) - 8) {
                if (*p == '%') {
                    if (p[1] != '%')
                        break;
                    piece[k++] = *p++;
                }
                piece[k++] = *p++;
            }
            piece[k] = 0;
            strcat(piece, "%n");
            consumed = -1;
            got = fp ? fscanf(fp, piece, &consumed) : sscanf(*str, piece, &consumed);
            if (got == EOF && consumed < 0)
                return assigned ? assigned : EOF;
            if (consumed < 0)
                return assigned; /* the literal did not match */
            if (!fp)
                *str += consumed;
            continue;
        }
        p++; /* '%' */
        if (*p == '*') {
            suppress = 1;
            p++;
        }
        if (isdigit((unsigned char)*p)) {
            width = 0;
            while (isdigit((unsigned char)*p))
                width = width * 10 + (*p++ - '0');
        }
        while (*p && strchr("hlLqjzt", *p) && m < sizeof(mods) - 1)
            mods[m++] = *p++;
        mods[m] = 0;
        conv = *p;
        if (!conv)
            break;
        if (!suppress && conv != 'n')
            dest = va_arg(ap, void *);
        if (!suppress && !secure && (conv == 's' || conv == '[') && widen && width < 0)
            width = 4095; /* an unsized wide buffer: read at most this much */
        if (!suppress && (conv == 's' || conv == 'c' || conv == '[') && (secure || widen)) {
            size = secure ? va_arg(ap, unsigned int) : (unsigned)(width >= 0 ? width + 1 : 2);
            if (size == 0)
                return assigned;
            if (conv == 'c') {
                if (width < 0)
                    width = 1;
                if ((unsigned)width > size)
                    return assigned;
            } else if (width < 0 || (unsigned)width > size - 1) {
                width = (int)size - 1;
            }
        }
        if (conv == 'n') {
            int *np = va_arg(ap, int *);
            (void)np; /* counts are per directive here: not supported, left unchanged */
            p++;
            continue;
        }
        k = 0;
        piece[k++] = '%';
        if (suppress)
            piece[k++] = '*';
        if (width >= 0)
            k += (size_t)snprintf(piece + k, 16, "%d", width);
        memcpy(piece + k, mods, m);
        k += m;
        if (conv == '[') {
            piece[k++] = *p++;
            if (*p == '^')
                piece[k++] = *p++;
            if (*p == ']')
                piece[k++] = *p++;
            while (*p && *p != ']' && k < sizeof(piece) - 8)
                piece[k++] = *p++;
            if (*p == ']')
                piece[k++] = *p++;
        } else {
            piece[k++] = *p++;
        }
        piece[k] = 0;
        strcat(piece, "%n");
        consumed = -1;
        target = dest;
        if (!suppress && widen && (conv == 's' || conv == 'c' || conv == '[')) {
            tmp = (char *)calloc((size_t)size * 4 + 4, 1);
            if (!tmp)
                return assigned;
            target = tmp;
        }
        if (fp)
            got = suppress ? fscanf(fp, piece, &consumed) : fscanf(fp, piece, target, &consumed);
        else
            got = suppress ? sscanf(*str, piece, &consumed) : sscanf(*str, piece, target, &consumed);
        if (tmp) {
            if (consumed >= 0 && conv == 'c') {
                int i; /* exactly `width` units, no terminator (ASCII/Latin-1 input) */
                for (i = 0; i < width; i++)
                    ((wchar_t *)dest)[i] = (wchar_t)(unsigned char)tmp[i];
            } else if (consumed >= 0) {
                widen(tmp, dest, size);
            }
            free(tmp);
        }
        if (got == EOF && consumed < 0)
            return assigned ? assigned : EOF;
        if (consumed < 0)
            return assigned; /* matching failure */
        if (!fp)
            *str += consumed;
        if (!suppress)
            assigned++;
    }
    return assigned;
}

_FILEMAP_CRT_INLINE int vscanf_s(const char *fmt, va_list ap) { return __filemap_vscanf_impl(stdin, NULL, fmt, ap, 1, NULL); }
_FILEMAP_CRT_INLINE int vfscanf_s(FILE *fp, const char *fmt, va_list ap)
{
    return __filemap_vscanf_impl(fp, NULL, fmt, ap, 1, NULL);
}
_FILEMAP_CRT_INLINE int vsscanf_s(const char *s, const char *fmt, va_list ap)
{
    return __filemap_vscanf_impl(NULL, &s, fmt, ap, 1, NULL);
}
_FILEMAP_CRT_INLINE int scanf_s(const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vscanf_s(fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_CRT_INLINE int fscanf_s(FILE *fp, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vfscanf_s(fp, fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_CRT_INLINE int sscanf_s(const char *s, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsscanf_s(s, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- files and misc ---- */
_FILEMAP_CRT_INLINE errno_t fopen_s(FILE **fp, const char *name, const char *mode)
{
    if (!fp || !name || !mode)
        return EINVAL;
    *fp = fopen(name, mode);
    return *fp ? 0 : errno;
}

/* strtok_s: MSVC's three-argument form (POSIX strtok_r's; not C11 Annex K's). */
_FILEMAP_CRT_INLINE char *strtok_s(char *s, const char *delim, char **context)
{
    char *p = s ? s : *context, *end;
    p += strspn(p, delim);
    if (!*p) {
        *context = p;
        return NULL;
    }
    end = p + strcspn(p, delim);
    if (*end)
        *end++ = 0;
    *context = end;
    return p;
}

#ifndef _stricmp
#define _stricmp strcasecmp
#define _strnicmp strncasecmp
#define stricmp strcasecmp
#define strnicmp strncasecmp
#define _strdup strdup
#endif
#ifndef _getpid
#define _getpid() ((int)GetCurrentProcessId())
#endif

_FILEMAP_CRT_INLINE char *_strlwr(char *s)
{
    char *p;
    for (p = s; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}
_FILEMAP_CRT_INLINE char *_strupr(char *s)
{
    char *p;
    for (p = s; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return s;
}

/* ---- time: MSVC's 64-bit time functions (time_t is 64-bit on LP64 Linux) ---- */
#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE)
/* Strict ISO C modes (-std=c11) hide the POSIX declarations; the functions are in glibc. */
struct tm *localtime_r(const time_t *, struct tm *);
struct tm *gmtime_r(const time_t *, struct tm *);
char *asctime_r(const struct tm *, char *);
#endif
#ifndef _TIME64_T_DEFINED
#define _TIME64_T_DEFINED
typedef long long __time64_t;
typedef int __time32_t;
#endif
_FILEMAP_CRT_INLINE __time64_t _time64(__time64_t *t)
{
    __time64_t now = (__time64_t)time(NULL);
    if (t)
        *t = now;
    return now;
}
_FILEMAP_CRT_INLINE __time32_t _time32(__time32_t *t)
{
    __time32_t now = (__time32_t)time(NULL);
    if (t)
        *t = now;
    return now;
}
_FILEMAP_CRT_INLINE __time64_t _mktime64(struct tm *tm) { return (__time64_t)mktime(tm); }
_FILEMAP_CRT_INLINE double _difftime64(__time64_t a, __time64_t b) { return difftime((time_t)a, (time_t)b); }
/* MSVC's argument order (struct tm first), not C11 Annex K's. */
_FILEMAP_CRT_INLINE errno_t _localtime64_s(struct tm *tm, const __time64_t *t)
{
    time_t v;
    if (!tm)
        return EINVAL;
    if (!t || *t < 0) {
        memset(tm, 0xff, sizeof *tm); /* MSVC fills the result with -1 on failure */
        return EINVAL;
    }
    v = (time_t)*t;
    return localtime_r(&v, tm) ? 0 : EINVAL;
}
_FILEMAP_CRT_INLINE errno_t _gmtime64_s(struct tm *tm, const __time64_t *t)
{
    time_t v;
    if (!tm)
        return EINVAL;
    if (!t || *t < 0) {
        memset(tm, 0xff, sizeof *tm);
        return EINVAL;
    }
    v = (time_t)*t;
    return gmtime_r(&v, tm) ? 0 : EINVAL;
}
_FILEMAP_CRT_INLINE errno_t localtime_s(struct tm *tm, const time_t *t)
{
    __time64_t v = t ? (__time64_t)*t : -1;
    return _localtime64_s(tm, t ? &v : NULL);
}
_FILEMAP_CRT_INLINE errno_t gmtime_s(struct tm *tm, const time_t *t)
{
    __time64_t v = t ? (__time64_t)*t : -1;
    return _gmtime64_s(tm, t ? &v : NULL);
}
_FILEMAP_CRT_INLINE errno_t asctime_s(char *buf, size_t size, const struct tm *tm)
{
    char tmp[64];
    if (!buf || size == 0)
        return EINVAL;
    buf[0] = 0;
    if (!tm || !asctime_r(tm, tmp))
        return EINVAL;
    if (size < 26 || strlen(tmp) >= size)
        return ERANGE;
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 0;
}
_FILEMAP_CRT_INLINE errno_t _ctime64_s(char *buf, size_t size, const __time64_t *t)
{
    struct tm tm;
    errno_t e;
    if (!buf || size == 0)
        return EINVAL;
    buf[0] = 0;
    e = _localtime64_s(&tm, t);
    return e ? e : asctime_s(buf, size, &tm);
}
_FILEMAP_CRT_INLINE errno_t ctime_s(char *buf, size_t size, const time_t *t)
{
    __time64_t v = t ? (__time64_t)*t : -1;
    return _ctime64_s(buf, size, t ? &v : NULL);
}
#define _localtime64 localtime
#define _gmtime64 gmtime
#define _ctime64 ctime

/* ---- system(): cmd.exe's "pause" and "cls" are done here, the rest goes to the shell ---- */
#ifdef __cplusplus
extern "C" {
#endif
/* Exported by libfilemap_win32: "pause" prints "Press any key to continue . . . " and waits
 * for a key (like _getch); "pause>nul" waits silently; "cls" clears a terminal; "title x"
 * sets the console title; "color xy" does nothing; anything else runs through /bin/sh. */
int filemap_system(const char *command);
#ifdef __cplusplus
}
#endif
#undef system
#define system(command) filemap_system(command)
#ifdef __cplusplus
namespace std {
using ::filemap_system;
}
#endif

/* ---- C++: the array-template overloads (the size comes from the array) ---- */
#ifdef __cplusplus
extern "C++" {
template <size_t N> inline errno_t strcpy_s(char (&dest)[N], const char *src) { return strcpy_s(dest, N, src); }
template <size_t N> inline errno_t strncpy_s(char (&dest)[N], const char *src, rsize_t count)
{
    return strncpy_s(dest, N, src, count);
}
template <size_t N> inline errno_t strcat_s(char (&dest)[N], const char *src) { return strcat_s(dest, N, src); }
template <size_t N> inline errno_t strncat_s(char (&dest)[N], const char *src, rsize_t count)
{
    return strncat_s(dest, N, src, count);
}
template <size_t N> inline int vsprintf_s(char (&buf)[N], const char *fmt, va_list ap) { return vsprintf_s(buf, N, fmt, ap); }
template <size_t N> inline int sprintf_s(char (&buf)[N], const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsprintf_s(buf, N, fmt, ap);
    va_end(ap);
    return n;
}
template <size_t N> inline int _snprintf_s(char (&buf)[N], size_t count, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = _vsnprintf_s(buf, N, count, fmt, ap);
    va_end(ap);
    return n;
}
template <size_t N> inline errno_t _itoa_s(int value, char (&buf)[N], int radix) { return _itoa_s(value, buf, N, radix); }
template <size_t N> inline errno_t _ltoa_s(long value, char (&buf)[N], int radix) { return _ltoa_s(value, buf, N, radix); }
template <size_t N> inline errno_t _i64toa_s(long long value, char (&buf)[N], int radix)
{
    return _i64toa_s(value, buf, N, radix);
}
template <size_t N> inline char *gets_s(char (&buf)[N]) { return gets_s(buf, N); }
}
#endif

#endif /* FILEMAP_CRT_H */
