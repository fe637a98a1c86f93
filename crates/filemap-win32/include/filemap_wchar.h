/* filemap_wchar.h - the Microsoft wide-character CRT over Linux's wchar_t (filemap-win32,
 * included by windows.h and tchar.h).
 *
 * wchar_t is wchar_t (32 bits on Linux: one unit per Unicode character), so L"..." literals,
 * std::wstring and glibc's wcs* functions (wcslen, wcscpy, wcscmp, wcschr, wcstol, ...) work
 * unchanged. This header adds what MSVC has and glibc has not (wcscpy_s, _wtoi, _itow_s,
 * _wfopen_s, ...), and replaces the wide stdio functions whose behaviour differs:
 *
 * - printf family (wprintf, fwprintf, swprintf, _snwprintf, swprintf_s, ...): MSVC's rules:
 *   %s and %c take wide strings/chars (%ls, %ws, %lc too), %S, %hs, %C, %hc narrow ones
 *   (glibc's wprintf takes %s as narrow); %ld is Windows' 32-bit long, %I64d and %Iu work.
 * - wide output (wprintf, putwchar, fputws, ..., std::wcout) is written as UTF-8 through the
 *   byte stream, so it mixes with printf and std::cout as on Windows (glibc fixes a stream's
 *   orientation at first use: after a printf, glibc's wprintf would print nothing).
 * - wide input (wscanf, fgetws, getwchar, std::wcin) reads UTF-8 from the byte stream.
 *
 * The replaced names are macros for __fm_* functions (and using-declarations in namespace std
 * for C++). The conversions need no locale: wide text is UTF-32, byte text UTF-8. */
#ifndef FILEMAP_wchar_t_H
#define FILEMAP_wchar_t_H

#ifdef __cplusplus
/* libstdc++'s own headers use the glibc names: include them before the macros below. */
#include <cstdio>
#include <cwchar>
#include <cwctype>
#include <iostream>
#include <string>
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "winnt.h"
#include "filemap_crt.h"

#define _FILEMAP_W_INLINE static inline __attribute__((unused))

_FILEMAP_W_INLINE int __fm_wcsicmp(const wchar_t *a, const wchar_t *b)
{
    while (*a && towlower((wint_t)*a) == towlower((wint_t)*b)) {
        a++;
        b++;
    }
    return (int)towlower((wint_t)*a) - (int)towlower((wint_t)*b);
}
_FILEMAP_W_INLINE int __fm_wcsnicmp(const wchar_t *a, const wchar_t *b, size_t n)
{
    for (; n; n--, a++, b++) {
        wint_t x = towlower((wint_t)*a), y = towlower((wint_t)*b);
        if (x != y)
            return (int)x - (int)y;
        if (!*a)
            return 0;
    }
    return 0;
}

/* Wide text (at most `max` units, or all when max < 0) to a malloc'd UTF-8 string. A unit
 * that is no Unicode character (a surrogate, or above U+10FFFF) becomes U+FFFD. */
_FILEMAP_W_INLINE char *__fm_to_utf8(const wchar_t *s, long max)
{
    size_t n = 0, i, o = 0;
    char *out;
    while (s[n] && (max < 0 || (long)n < max))
        n++;
    out = (char *)malloc(n * 4 + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned long c = (unsigned long)(unsigned int)s[i];
        if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF)
            c = 0xFFFD;
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xE0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (c >> 18));
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = 0;
    return out;
}

/* Decodes one UTF-8 sequence at *p (advancing it); malformed input gives U+FFFD. */
_FILEMAP_W_INLINE unsigned long __fm_utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    unsigned long c, min;
    int extra;
    if (*p < 0x80) {
        *pp = p + 1;
        return *p;
    } else if ((*p & 0xE0) == 0xC0) {
        c = *p & 0x1F, extra = 1, min = 0x80;
    } else if ((*p & 0xF0) == 0xE0) {
        c = *p & 0x0F, extra = 2, min = 0x800;
    } else if ((*p & 0xF8) == 0xF0) {
        c = *p & 0x07, extra = 3, min = 0x10000;
    } else {
        *pp = p + 1;
        return 0xFFFD;
    }
    p++;
    while (extra-- > 0) {
        if ((*p & 0xC0) != 0x80) {
            *pp = p;
            return 0xFFFD;
        }
        c = (c << 6) | (*p++ & 0x3F);
    }
    *pp = p;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000))
        return 0xFFFD;
    return c;
}

/* UTF-8 to wide text into `out` (room for `cap` units including the NUL); returns the units
 * needed without the NUL. Malformed bytes become U+FFFD. */
_FILEMAP_W_INLINE size_t __fm_from_utf8(const char *s, wchar_t *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        unsigned long c = __fm_utf8_next(&p);
        if (out && o + 1 < cap)
            out[o] = (wchar_t)c;
        o++;
    }
    if (out && cap)
        out[o < cap ? o : cap - 1] = 0;
    return o;
}

/* One wide character as UTF-8 into `out` (room for 4); returns the bytes. */
_FILEMAP_W_INLINE size_t __fm_put_utf8(unsigned long c, char *out)
{
    if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF)
        c = 0xFFFD;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

struct __fm_buf {
    char *p;
    size_t len, cap;
};

_FILEMAP_W_INLINE void __fm_put(struct __fm_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = (char *)realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Appends `n` bytes of UTF-8 text padded to the field width of `spec` ("%-10.3", flags and
 * width as parsed), counting characters, not bytes, as MSVC's wide printf does. */
_FILEMAP_W_INLINE void __fm_put_padded(struct __fm_buf *b, const char *spec, const char *text, size_t n)
{
    const char *p = spec + 1;
    int left = 0;
    size_t width = 0, chars = 0, i;
    while (*p && strchr("-+ #0", *p)) {
        if (*p == '-')
            left = 1;
        p++;
    }
    while (*p >= '0' && *p <= '9')
        width = width * 10 + (size_t)(*p++ - '0');
    for (i = 0; i < n; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            chars++;
    if (!left)
        for (i = chars; i < width; i++)
            __fm_put(b, " ", 1);
    __fm_put(b, text, n);
    if (left)
        for (i = chars; i < width; i++)
            __fm_put(b, " ", 1);
}

/* Formats a wide format string (MSVC wide printf rules) into a malloc'd UTF-8 string. */
_FILEMAP_W_INLINE char *__fm_vformat(const wchar_t *fmt, va_list ap0)
{
    struct __fm_buf b = {NULL, 0, 0};
    const wchar_t *p = fmt;
    va_list ap;
    va_copy(ap, ap0);
    __fm_put(&b, "", 0);
    while (p && *p) {
        char spec[64], tmp[512];
        size_t si = 0;
        int precision = -1, n;
        enum { L_NONE, L_HH, L_H, L_L, L_LL, L_J, L_Z, L_T, L_BIG_L, L_I64, L_W } len = L_NONE;
        wchar_t conv;
        if (*p != '%') {
            const wchar_t *q = p;
            char *u;
            while (*q && *q != '%')
                q++;
            u = __fm_to_utf8(p, (long)(q - p));
            if (u) {
                __fm_put(&b, u, strlen(u));
                free(u);
            }
            p = q;
            continue;
        }
        p++;
        if (*p == '%') {
            __fm_put(&b, "%", 1);
            p++;
            continue;
        }
        spec[si++] = '%';
        while (*p && (*p == '-' || *p == '+' || *p == ' ' || *p == '#' || *p == '0') && si < 8)
            spec[si++] = (char)*p++;
        if (*p == '*') {
            si += (size_t)snprintf(spec + si, 16, "%d", va_arg(ap, int));
            p++;
        } else {
            while (*p >= '0' && *p <= '9' && si < 24)
                spec[si++] = (char)*p++;
        }
        if (*p == '.') {
            spec[si++] = (char)*p++;
            precision = 0;
            if (*p == '*') {
                precision = va_arg(ap, int);
                si += (size_t)snprintf(spec + si, 16, "%d", precision);
                p++;
            } else {
                while (*p >= '0' && *p <= '9' && si < 40) {
                    precision = precision * 10 + (*p - '0');
                    spec[si++] = (char)*p++;
                }
            }
        }
        if (*p == 'h') {
            p++;
            len = L_H;
            if (*p == 'h') {
                p++;
                len = L_HH;
            }
        } else if (*p == 'l') {
            p++;
            len = L_L;
            if (*p == 'l') {
                p++;
                len = L_LL;
            }
        } else if (*p == 'w') {
            p++;
            len = L_W;
        } else if (*p == 'j') {
            p++;
            len = L_J;
        } else if (*p == 'z') {
            p++;
            len = L_Z;
        } else if (*p == 't') {
            p++;
            len = L_T;
        } else if (*p == 'L') {
            p++;
            len = L_BIG_L;
        } else if (*p == 'I') {
            p++;
            if (p[0] == '6' && p[1] == '4') {
                p += 2;
                len = L_I64;
            } else if (p[0] == '3' && p[1] == '2') {
                p += 2;
                len = L_NONE;
            } else {
                len = L_Z;
            }
        }
        conv = *p;
        if (!conv)
            break;
        p++;
        spec[si] = 0;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case L_HH: v = (signed char)va_arg(ap, int); break;
            case L_H: v = (short)va_arg(ap, int); break;
            case L_L: v = va_arg(ap, int); break; /* Windows long is 32-bit */
            case L_LL: case L_I64: v = va_arg(ap, long long); break;
            case L_J: v = (long long)va_arg(ap, long long); break;
            case L_Z: case L_T: v = (long long)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, int); break;
            }
            strcpy(spec + si, "lld");
            n = snprintf(tmp, sizeof tmp, spec, v);
            __fm_put(&b, tmp, n > 0 ? (size_t)n : 0);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            unsigned long long v;
            switch (len) {
            case L_HH: v = (unsigned char)va_arg(ap, unsigned int); break;
            case L_H: v = (unsigned short)va_arg(ap, unsigned int); break;
            case L_LL: case L_I64: case L_J: v = va_arg(ap, unsigned long long); break;
            case L_Z: case L_T: v = va_arg(ap, size_t); break;
            default: v = va_arg(ap, unsigned int); break;
            }
            spec[si] = 'l';
            spec[si + 1] = 'l';
            spec[si + 2] = (char)conv;
            spec[si + 3] = 0;
            n = snprintf(tmp, sizeof tmp, spec, v);
            __fm_put(&b, tmp, n > 0 ? (size_t)n : 0);
            break;
        }
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
            if (len == L_BIG_L) {
                long double v = va_arg(ap, long double);
                spec[si] = 'L';
                spec[si + 1] = (char)conv;
                spec[si + 2] = 0;
                n = snprintf(tmp, sizeof tmp, spec, v);
            } else {
                double v = va_arg(ap, double);
                spec[si] = (char)conv;
                spec[si + 1] = 0;
                n = snprintf(tmp, sizeof tmp, spec, v);
            }
            __fm_put(&b, tmp, n > 0 ? (size_t)n : 0);
            break;
        }
        case 'p': {
            void *v = va_arg(ap, void *);
            n = snprintf(tmp, sizeof tmp, "%p", v);
            __fm_put(&b, tmp, n > 0 ? (size_t)n : 0);
            break;
        }
        case 'n': {
            int *v = va_arg(ap, int *);
            if (v)
                *v = (int)b.len;
            break;
        }
        case 'c':
        case 'C': {
            int wide = (conv == 'c') ? (len != L_H) : (len == L_L || len == L_W);
            int ch = va_arg(ap, int);
            char *u;
            wchar_t w[2];
            char nb[2];
            if (wide) {
                w[0] = (wchar_t)ch;
                w[1] = 0;
                u = __fm_to_utf8(w, -1);
            } else {
                nb[0] = (char)ch;
                nb[1] = 0;
                u = (char *)malloc(2);
                if (u)
                    memcpy(u, nb, 2);
            }
            if (u) {
                __fm_put_padded(&b, spec, u, strlen(u));
                free(u);
            }
            break;
        }
        case 's':
        case 'S': {
            int wide = (conv == 's') ? (len != L_H) : (len == L_L || len == L_W);
            const void *arg = va_arg(ap, const void *);
            char *u = NULL;
            const char *text;
            size_t nbytes;
            if (!arg) {
                text = "(null)";
                nbytes = strlen(text);
            } else if (wide) {
                u = __fm_to_utf8((const wchar_t *)arg, precision);
                text = u ? u : "";
                nbytes = strlen(text);
            } else {
                text = (const char *)arg;
                for (nbytes = 0; text[nbytes] && (precision < 0 || (long)nbytes < precision); nbytes++)
                    ;
            }
            __fm_put_padded(&b, spec, text, nbytes);
            free(u);
            break;
        }
        default: {
            char c[2] = {'%', (char)conv};
            __fm_put(&b, c, 2);
        }
        }
    }
    va_end(ap);
    return b.p;
}


/* ---- output ---- */
_FILEMAP_W_INLINE int __fm_vfwprintf(FILE *fp, const wchar_t *fmt, va_list ap)
{
    char *s = __fm_vformat(fmt, ap);
    int n;
    if (!s)
        return -1;
    n = fputs(s, fp) < 0 ? -1 : (int)strlen(s);
    free(s);
    return n;
}
_FILEMAP_W_INLINE int __fm_vwprintf(const wchar_t *fmt, va_list ap) { return __fm_vfwprintf(stdout, fmt, ap); }
_FILEMAP_W_INLINE int __fm_wprintf(const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vfwprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_W_INLINE int __fm_fwprintf(FILE *fp, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vfwprintf(fp, fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_W_INLINE int __fm_fputws(const wchar_t *s, FILE *fp)
{
    char *u = s ? __fm_to_utf8(s, -1) : NULL;
    int r;
    if (!u)
        return -1;
    r = fputs(u, fp) < 0 ? -1 : 0;
    free(u);
    return r;
}
_FILEMAP_W_INLINE int __fm_putws(const wchar_t *s)
{
    if (__fm_fputws(s, stdout) < 0 || fputc('\n', stdout) == EOF)
        return -1;
    return 0;
}
_FILEMAP_W_INLINE wint_t __fm_fputwc(wchar_t c, FILE *fp)
{
    char u[4];
    size_t n = __fm_put_utf8((unsigned long)(unsigned int)c, u);
    return n && fwrite(u, 1, n, fp) == n ? (wint_t)c : WEOF;
}
_FILEMAP_W_INLINE wint_t __fm_putwchar(wchar_t c) { return __fm_fputwc(c, stdout); }

/* Formats into a wide buffer of `cap` units; returns the units of the whole output (without
 * the NUL); the buffer holds what fits, terminated (cap > 0). -1 on a format error. */
_FILEMAP_W_INLINE int __fm_vformat_into(wchar_t *buf, size_t cap, const wchar_t *fmt, va_list ap)
{
    char *s = __fm_vformat(fmt, ap);
    size_t n;
    if (!s)
        return -1;
    n = __fm_from_utf8(s, buf, cap);
    free(s);
    return (int)n;
}
/* swprintf/vswprintf (ISO, as MSVC's): -1 when the output needs `count` units or more. */
_FILEMAP_W_INLINE int __fm_vswprintf(wchar_t *buf, size_t count, const wchar_t *fmt, va_list ap)
{
    int n = __fm_vformat_into(buf, count, fmt, ap);
    return n < 0 || (size_t)n >= count ? -1 : n;
}
_FILEMAP_W_INLINE int __fm_swprintf(wchar_t *buf, size_t count, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vswprintf(buf, count, fmt, ap);
    va_end(ap);
    return n;
}
/* _swprintf (MSVC's legacy swprintf without a size): the buffer must be large enough. */
_FILEMAP_W_INLINE int __fm_vswprintf_legacy(wchar_t *buf, const wchar_t *fmt, va_list ap)
{
    return __fm_vformat_into(buf, (size_t)-1 / sizeof(wchar_t), fmt, ap);
}
_FILEMAP_W_INLINE int __fm_swprintf_legacy(wchar_t *buf, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vswprintf_legacy(buf, fmt, ap);
    va_end(ap);
    return n;
}
/* _snwprintf: at most `count` units; no terminator when the output fills them, -1 when it is
 * longer (as _snprintf). */
_FILEMAP_W_INLINE int __fm_vsnwprintf(wchar_t *buf, size_t count, const wchar_t *fmt, va_list ap)
{
    char *s = __fm_vformat(fmt, ap);
    size_t n, i;
    wchar_t *tmp;
    if (!s)
        return -1;
    n = __fm_from_utf8(s, NULL, 0);
    tmp = (wchar_t *)malloc((n + 1) * sizeof(wchar_t));
    if (!tmp) {
        free(s);
        return -1;
    }
    __fm_from_utf8(s, tmp, n + 1);
    free(s);
    for (i = 0; i < n && i < count; i++)
        buf[i] = tmp[i];
    if (n < count)
        buf[n] = 0;
    free(tmp);
    return n > count ? -1 : (int)n;
}
_FILEMAP_W_INLINE int __fm_snwprintf(wchar_t *buf, size_t count, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnwprintf(buf, count, fmt, ap);
    va_end(ap);
    return n;
}
/* swprintf_s: a buffer too small is an invalid parameter: empty result, -1. */
_FILEMAP_W_INLINE int __fm_vswprintf_s(wchar_t *buf, size_t size, const wchar_t *fmt, va_list ap)
{
    int n;
    if (!buf || size == 0 || !fmt)
        return -1;
    n = __fm_vformat_into(buf, size, fmt, ap);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = 0;
        return -1;
    }
    return n;
}
_FILEMAP_W_INLINE int __fm_swprintf_s(wchar_t *buf, size_t size, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vswprintf_s(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
/* _snwprintf_s: at most `count` units (_TRUNCATE: as many as fit, returning -1 if cut). */
_FILEMAP_W_INLINE int __fm_vsnwprintf_s(wchar_t *buf, size_t size, size_t count, const wchar_t *fmt, va_list ap)
{
    size_t limit;
    int n;
    if (!buf || size == 0 || !fmt)
        return -1;
    limit = (count == _TRUNCATE || count >= size) ? size : count + 1;
    n = __fm_vformat_into(buf, limit, fmt, ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= limit) {
        if (count == _TRUNCATE || count < size)
            return -1; /* truncated: buf holds what fits */
        buf[0] = 0;
        return -1;
    }
    return n;
}
_FILEMAP_W_INLINE int __fm_snwprintf_s(wchar_t *buf, size_t size, size_t count, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnwprintf_s(buf, size, count, fmt, ap);
    va_end(ap);
    return n;
}
/* _scwprintf: the length the output would have. */
_FILEMAP_W_INLINE int __fm_scwprintf(const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vformat_into(NULL, 0, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- input (UTF-8 bytes from the byte stream) ---- */
_FILEMAP_W_INLINE wint_t __fm_fgetwc(FILE *fp)
{
    unsigned char b[5] = {0};
    const unsigned char *p = b;
    int c = fgetc(fp), need, i;
    if (c == EOF)
        return WEOF;
    b[0] = (unsigned char)c;
    need = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
    for (i = 1; i <= need; i++) {
        c = fgetc(fp);
        if (c == EOF)
            break;
        if ((c & 0xC0) != 0x80) {
            ungetc(c, fp);
            break;
        }
        b[i] = (unsigned char)c;
    }
    return (wint_t)__fm_utf8_next(&p);
}
_FILEMAP_W_INLINE wint_t __fm_getwchar(void)
{
    fflush(stdout);
    return __fm_fgetwc(stdin);
}
/* fgetws: a line (with its newline) of at most n - 1 characters. */
_FILEMAP_W_INLINE wchar_t *__fm_fgetws(wchar_t *buf, int n, FILE *fp)
{
    int i = 0;
    if (!buf || n <= 0)
        return NULL;
    if (fp == stdin)
        fflush(stdout);
    while (i < n - 1) {
        wint_t c = __fm_fgetwc(fp);
        if (c == WEOF)
            break;
        buf[i++] = (wchar_t)c;
        if (c == L'\n')
            break;
    }
    buf[i] = 0;
    return i ? buf : NULL;
}
/* _getws_s: a line without its newline; NULL at end of input or when it does not fit. */
_FILEMAP_W_INLINE wchar_t *__fm_getws_s(wchar_t *buf, size_t cap)
{
    size_t n = 0;
    wint_t c = WEOF;
    if (!buf || cap == 0)
        return NULL;
    fflush(stdout);
    while ((c = __fm_fgetwc(stdin)) != WEOF && c != L'\n') {
        if (n + 1 < cap)
            buf[n] = (wchar_t)c;
        n++;
    }
    if ((c == WEOF && n == 0) || n >= cap) {
        buf[0] = 0;
        return NULL;
    }
    if (n > 0 && buf[n - 1] == L'\r')
        n--;
    buf[n] = 0;
    return buf;
}

/* The scanf family: wide formats; %s, %c and %[ fill wide buffers (the _s forms take their
 * size in characters); input is read as UTF-8. Without a size, a string conversion reads at
 * most 4095 characters. */
_FILEMAP_W_INLINE size_t __fm_widen(const char *s, void *out, size_t cap)
{
    return __fm_from_utf8(s, (wchar_t *)out, cap);
}
_FILEMAP_W_INLINE int __fm_vwscanf_impl(FILE *fp, const wchar_t *text, const wchar_t *fmt, va_list ap, int secure)
{
    char *f = __fm_to_utf8(fmt, -1), *t = text ? __fm_to_utf8(text, -1) : NULL;
    const char *cursor = t;
    int n;
    if (!f || (text && !t)) {
        free(f);
        free(t);
        return EOF;
    }
    if (fp == stdin)
        fflush(stdout);
    n = __filemap_vscanf_impl(fp, text ? &cursor : NULL, f, ap, secure, __fm_widen);
    free(f);
    free(t);
    return n;
}
#define __FM_WSCANF(name, fp, text, secure, ...)                                                                       \
    _FILEMAP_W_INLINE int name(__VA_ARGS__, ...)                                                                       \
    {                                                                                                                  \
        va_list ap;                                                                                                    \
        int n;                                                                                                         \
        va_start(ap, fmt);                                                                                             \
        n = __fm_vwscanf_impl(fp, text, fmt, ap, secure);                                                              \
        va_end(ap);                                                                                                    \
        return n;                                                                                                      \
    }
__FM_WSCANF(__fm_wscanf, stdin, NULL, 0, const wchar_t *fmt)
__FM_WSCANF(__fm_wscanf_s, stdin, NULL, 1, const wchar_t *fmt)
__FM_WSCANF(__fm_fwscanf, f, NULL, 0, FILE *f, const wchar_t *fmt)
__FM_WSCANF(__fm_fwscanf_s, f, NULL, 1, FILE *f, const wchar_t *fmt)
__FM_WSCANF(__fm_swscanf, NULL, s, 0, const wchar_t *s, const wchar_t *fmt)
__FM_WSCANF(__fm_swscanf_s, NULL, s, 1, const wchar_t *s, const wchar_t *fmt)
#undef __FM_WSCANF

/* ---- strings ---- */
_FILEMAP_W_INLINE size_t __fm_wcsnlen(const wchar_t *s, size_t max)
{
    size_t n = 0;
    while (s && n < max && s[n])
        n++;
    return n;
}
_FILEMAP_W_INLINE errno_t wcscpy_s(wchar_t *d, rsize_t cap, const wchar_t *s)
{
    size_t n;
    if (!d || cap == 0)
        return EINVAL;
    if (!s) {
        d[0] = 0;
        return EINVAL;
    }
    n = wcslen(s);
    if (n >= cap) {
        d[0] = 0;
        return ERANGE;
    }
    memcpy(d, s, (n + 1) * sizeof(wchar_t));
    return 0;
}
_FILEMAP_W_INLINE errno_t wcsncpy_s(wchar_t *d, rsize_t cap, const wchar_t *s, rsize_t count)
{
    size_t n;
    if (!d || cap == 0)
        return EINVAL;
    if (!s) {
        d[0] = 0;
        return count == 0 ? 0 : EINVAL;
    }
    n = __fm_wcsnlen(s, count == _TRUNCATE ? cap : count);
    if (count == _TRUNCATE && n >= cap) {
        memcpy(d, s, (cap - 1) * sizeof(wchar_t));
        d[cap - 1] = 0;
        return STRUNCATE;
    }
    if (n >= cap) {
        d[0] = 0;
        return ERANGE;
    }
    memcpy(d, s, n * sizeof(wchar_t));
    d[n] = 0;
    return 0;
}
_FILEMAP_W_INLINE errno_t wcsncat_s(wchar_t *d, rsize_t cap, const wchar_t *s, rsize_t count)
{
    size_t dl, n;
    if (!d || cap == 0)
        return EINVAL;
    if (!s) {
        d[0] = 0;
        return count == 0 ? 0 : EINVAL;
    }
    dl = __fm_wcsnlen(d, cap);
    if (dl == cap) {
        d[0] = 0;
        return EINVAL; /* d was not terminated */
    }
    n = __fm_wcsnlen(s, count == _TRUNCATE ? (size_t)-1 : count);
    if (dl + n >= cap) {
        if (count == _TRUNCATE) {
            memcpy(d + dl, s, (cap - dl - 1) * sizeof(wchar_t));
            d[cap - 1] = 0;
            return STRUNCATE;
        }
        d[0] = 0;
        return ERANGE;
    }
    memcpy(d + dl, s, n * sizeof(wchar_t));
    d[dl + n] = 0;
    return 0;
}
_FILEMAP_W_INLINE errno_t wcscat_s(wchar_t *d, rsize_t cap, const wchar_t *s)
{
    if (d && cap && !s) {
        d[0] = 0;
        return EINVAL;
    }
    return wcsncat_s(d, cap, s, (rsize_t)-2);
}
_FILEMAP_W_INLINE wchar_t *__fm_wcsdup(const wchar_t *s)
{
    size_t n = wcslen(s) + 1;
    wchar_t *d = (wchar_t *)malloc(n * sizeof(wchar_t));
    if (d)
        memcpy(d, s, n * sizeof(wchar_t));
    return d;
}
_FILEMAP_W_INLINE wchar_t *_wcslwr(wchar_t *s)
{
    wchar_t *p;
    for (p = s; p && *p; p++)
        *p = (wchar_t)towlower((wint_t)*p);
    return s;
}
_FILEMAP_W_INLINE wchar_t *_wcsupr(wchar_t *s)
{
    wchar_t *p;
    for (p = s; p && *p; p++)
        *p = (wchar_t)towupper((wint_t)*p);
    return s;
}
_FILEMAP_W_INLINE errno_t _wcslwr_s(wchar_t *s, size_t cap)
{
    if (!s || __fm_wcsnlen(s, cap) == cap)
        return EINVAL;
    _wcslwr(s);
    return 0;
}
_FILEMAP_W_INLINE errno_t _wcsupr_s(wchar_t *s, size_t cap)
{
    if (!s || __fm_wcsnlen(s, cap) == cap)
        return EINVAL;
    _wcsupr(s);
    return 0;
}
_FILEMAP_W_INLINE wchar_t *_wcsrev(wchar_t *s)
{
    size_t i, n = wcslen(s);
    for (i = 0; i < n / 2; i++) {
        wchar_t t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
    return s;
}
/* _wcstok: MSVC's two-argument wcstok (one saved position per thread). */
_FILEMAP_W_INLINE wchar_t *_wcstok(wchar_t *s, const wchar_t *delim)
{
    static __thread wchar_t *saved;
    return wcstok(s, delim, &saved);
}

/* ---- numbers ---- */
_FILEMAP_W_INLINE long long __fm_wtoll(const wchar_t *s) { return s ? wcstoll(s, NULL, 10) : 0; }
_FILEMAP_W_INLINE int _wtoi(const wchar_t *s) { return (int)__fm_wtoll(s); }
_FILEMAP_W_INLINE long _wtol(const wchar_t *s) { return (long)(int)__fm_wtoll(s); }
_FILEMAP_W_INLINE long long _wtoi64(const wchar_t *s) { return __fm_wtoll(s); }
_FILEMAP_W_INLINE long long _wtoll(const wchar_t *s) { return __fm_wtoll(s); }
_FILEMAP_W_INLINE double _wtof(const wchar_t *s) { return s ? wcstod(s, NULL) : 0.0; }
_FILEMAP_W_INLINE long long _wcstoi64(const wchar_t *s, wchar_t **end, int base) { return wcstoll(s, end, base); }
_FILEMAP_W_INLINE unsigned long long _wcstoui64(const wchar_t *s, wchar_t **end, int base)
{
    return wcstoull(s, end, base);
}
_FILEMAP_W_INLINE wchar_t *__fm_widen_ascii(const char *a, wchar_t *w)
{
    size_t i = 0;
    do
        w[i] = (wchar_t)(unsigned char)a[i];
    while (a[i++]);
    return w;
}
_FILEMAP_W_INLINE wchar_t *_itow(int v, wchar_t *buf, int radix)
{
    char tmp[72];
    return __fm_widen_ascii(_itoa(v, tmp, radix), buf);
}
_FILEMAP_W_INLINE wchar_t *_ltow(long v, wchar_t *buf, int radix)
{
    char tmp[72];
    return __fm_widen_ascii(_ltoa(v, tmp, radix), buf);
}
_FILEMAP_W_INLINE wchar_t *_ultow(unsigned long v, wchar_t *buf, int radix)
{
    char tmp[72];
    return __fm_widen_ascii(_ultoa(v, tmp, radix), buf);
}
_FILEMAP_W_INLINE wchar_t *_i64tow(long long v, wchar_t *buf, int radix)
{
    char tmp[72];
    return __fm_widen_ascii(_i64toa(v, tmp, radix), buf);
}
_FILEMAP_W_INLINE wchar_t *_ui64tow(unsigned long long v, wchar_t *buf, int radix)
{
    char tmp[72];
    return __fm_widen_ascii(_ui64toa(v, tmp, radix), buf);
}
_FILEMAP_W_INLINE errno_t __fm_narrow_to_wide_s(errno_t e, const char *tmp, wchar_t *buf, size_t cap)
{
    if (e != 0)
        return e;
    if (strlen(tmp) >= cap) {
        buf[0] = 0;
        return ERANGE;
    }
    __fm_widen_ascii(tmp, buf);
    return 0;
}
_FILEMAP_W_INLINE errno_t _itow_s(int v, wchar_t *buf, size_t cap, int radix)
{
    char tmp[72];
    if (!buf || cap == 0)
        return EINVAL;
    return __fm_narrow_to_wide_s(_itoa_s(v, tmp, sizeof tmp, radix), tmp, buf, cap);
}
_FILEMAP_W_INLINE errno_t _ltow_s(long v, wchar_t *buf, size_t cap, int radix) { return _itow_s((int)v, buf, cap, radix); }
_FILEMAP_W_INLINE errno_t _i64tow_s(long long v, wchar_t *buf, size_t cap, int radix)
{
    char tmp[72];
    if (!buf || cap == 0)
        return EINVAL;
    return __fm_narrow_to_wide_s(_i64toa_s(v, tmp, sizeof tmp, radix), tmp, buf, cap);
}

/* ---- narrow <-> wide (multibyte text is UTF-8, whatever the C locale) ---- */
/* mbstowcs_s: converts at most `count` characters (_TRUNCATE: as many as fit); *converted
 * counts the units written including the NUL. */
_FILEMAP_W_INLINE errno_t mbstowcs_s(size_t *converted, wchar_t *dst, size_t cap, const char *src, size_t count)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t o = 0;
    if (converted)
        *converted = 0;
    if (!src || (dst && cap == 0) || (!dst && cap != 0))
        return EINVAL;
    while (*p && o < count) {
        unsigned long c = __fm_utf8_next(&p);
        if (dst) {
            if (o + 1 >= cap) {
                if (count == _TRUNCATE) {
                    dst[o] = 0;
                    if (converted)
                        *converted = o + 1;
                    return STRUNCATE;
                }
                dst[0] = 0;
                return ERANGE;
            }
            dst[o] = (wchar_t)c;
        }
        o++;
    }
    if (dst)
        dst[o] = 0;
    if (converted)
        *converted = o + 1;
    return 0;
}
/* wcstombs_s: UTF-8 out; `count` limits the bytes written (without the NUL). */
_FILEMAP_W_INLINE errno_t wcstombs_s(size_t *converted, char *dst, size_t cap, const wchar_t *src, size_t count)
{
    char *u;
    size_t n;
    if (converted)
        *converted = 0;
    if (!src || (dst && cap == 0) || (!dst && cap != 0))
        return EINVAL;
    u = __fm_to_utf8(src, -1);
    if (!u)
        return ENOMEM;
    n = strlen(u);
    if (count != _TRUNCATE && n > count)
        n = count;
    if (dst) {
        if (n >= cap) {
            if (count == _TRUNCATE) {
                n = cap - 1;
                while (n > 0 && ((unsigned char)u[n] & 0xC0) == 0x80)
                    n--; /* do not cut a character */
                memcpy(dst, u, n);
                dst[n] = 0;
                free(u);
                if (converted)
                    *converted = n + 1;
                return STRUNCATE;
            }
            dst[0] = 0;
            free(u);
            return ERANGE;
        }
        memcpy(dst, u, n);
        dst[n] = 0;
    }
    free(u);
    if (converted)
        *converted = n + 1;
    return 0;
}

/* ---- files, errors, environment ---- */
_FILEMAP_W_INLINE FILE *_wfopen(const wchar_t *name, const wchar_t *mode)
{
    char *n = name ? __fm_to_utf8(name, -1) : NULL, *m = mode ? __fm_to_utf8(mode, -1) : NULL;
    FILE *fp = NULL;
    if (n && m)
        fp = fopen(n, m);
    else
        errno = EINVAL;
    free(n);
    free(m);
    return fp;
}
_FILEMAP_W_INLINE errno_t _wfopen_s(FILE **fp, const wchar_t *name, const wchar_t *mode)
{
    if (!fp || !name || !mode)
        return EINVAL;
    *fp = _wfopen(name, mode);
    return *fp ? 0 : errno;
}
_FILEMAP_W_INLINE void _wperror(const wchar_t *s)
{
    char *u = s ? __fm_to_utf8(s, -1) : NULL;
    fflush(stdout);
    if (u && *u)
        fprintf(stderr, "%s: %s\n", u, strerror(errno));
    else
        fprintf(stderr, "%s\n", strerror(errno));
    free(u);
}
_FILEMAP_W_INLINE int __fm_wide_path_op(const wchar_t *a, const wchar_t *b, int op)
{
    char *x = a ? __fm_to_utf8(a, -1) : NULL, *y = b ? __fm_to_utf8(b, -1) : NULL;
    int r = -1;
    if (x && (op == 0 || op == 2 || y))
        r = op == 0 ? remove(x) : op == 1 ? rename(x, y) : system(x);
    free(x);
    free(y);
    return r;
}
_FILEMAP_W_INLINE int _wremove(const wchar_t *p) { return __fm_wide_path_op(p, NULL, 0); }
_FILEMAP_W_INLINE int _wrename(const wchar_t *a, const wchar_t *b) { return __fm_wide_path_op(a, b, 1); }
_FILEMAP_W_INLINE int _wsystem(const wchar_t *cmd) { return cmd ? __fm_wide_path_op(cmd, NULL, 2) : system(NULL); }

/* wmain, the wide entry point MSVC accepts in any program (and _tmain in UNICODE builds):
 * libfilemap_win32 has a weak main (a program's own main always wins) that calls
 * __filemap_call_wmain (defined here, weak, once per program) with the narrow argv; it converts
 * argv to wide strings (UTF-8 decoded) and calls the program's wmain, whichever of the forms
 * int wmain(void), int wmain(int, wchar_t **) or int wmain(int, wchar_t **, wchar_t **) it
 * has, in C and in C++. */
#ifdef __cplusplus
int wmain(void) __attribute__((weak));
int wmain(int, wchar_t **) __attribute__((weak));
int wmain(int, wchar_t **, wchar_t **) __attribute__((weak));
#else
/* The program's wmain, whatever its parameters (a C-level name of its own, so it conflicts with
 * no prototype the program writes). */
extern int __filemap_wmain_any(int, wchar_t **, wchar_t **) __asm__("wmain") __attribute__((weak));
#endif
static inline __attribute__((unused)) wchar_t **__fm_wide_argv(int argc, char **argv)
{
    wchar_t **w = (wchar_t **)calloc((size_t)argc + 1, sizeof(wchar_t *));
    int i;
    for (i = 0; w && i < argc; i++) {
        size_t n = __fm_from_utf8(argv[i], NULL, 0);
        w[i] = (wchar_t *)malloc((n + 1) * sizeof(wchar_t));
        if (w[i])
            __fm_from_utf8(argv[i], w[i], n + 1);
    }
    return w;
}
#ifdef __cplusplus
extern "C" {
#endif
int __filemap_call_wmain(int argc, char **argv, char **envp) __attribute__((weak));
__attribute__((weak)) int __filemap_call_wmain(int argc, char **argv, char **envp)
{
    wchar_t **wargv = __fm_wide_argv(argc, argv);
    (void)envp;
#ifdef __cplusplus
    {
        int (*f3)(int, wchar_t **, wchar_t **) = wmain;
        int (*f2)(int, wchar_t **) = wmain;
        int (*f0)(void) = wmain;
        if (f3)
            return f3(argc, wargv, NULL);
        if (f2)
            return f2(argc, wargv);
        if (f0)
            return f0();
    }
#else
    if (__filemap_wmain_any)
        return __filemap_wmain_any(argc, wargv, (wchar_t **)NULL);
#endif
    fputs("filemap-win32: the program has neither main nor wmain/_tmain\n", stderr);
    return 1;
}
#ifdef __cplusplus
}
#endif

/* ---- the names: MSVC's wide CRT ---- */
#undef wprintf
#undef fwprintf
#undef vwprintf
#undef vfwprintf
#undef swprintf
#undef vswprintf
#undef wscanf
#undef fwscanf
#undef swscanf
#undef fputws
#undef fgetws
#undef putwchar
#undef getwchar
#undef fputwc
#undef fgetwc
#undef putwc
#undef getwc
#define wprintf __fm_wprintf
#define wprintf_s __fm_wprintf
#define fwprintf __fm_fwprintf
#define fwprintf_s __fm_fwprintf
#define vwprintf __fm_vwprintf
#define vwprintf_s __fm_vwprintf
#define vfwprintf __fm_vfwprintf
#define vfwprintf_s __fm_vfwprintf
#define swprintf __fm_swprintf
#define vswprintf __fm_vswprintf
#define _swprintf __fm_swprintf_legacy
#define _vswprintf __fm_vswprintf_legacy
#define __swprintf_l(b, f, l, ...) __fm_swprintf_legacy(b, f, __VA_ARGS__)
#define swprintf_s __fm_swprintf_s
#define vswprintf_s __fm_vswprintf_s
#define _snwprintf __fm_snwprintf
#define _vsnwprintf __fm_vsnwprintf
#define _snwprintf_s __fm_snwprintf_s
#define _vsnwprintf_s __fm_vsnwprintf_s
#define _scwprintf __fm_scwprintf
#define wscanf __fm_wscanf
#define wscanf_s __fm_wscanf_s
#define fwscanf __fm_fwscanf
#define fwscanf_s __fm_fwscanf_s
#define swscanf __fm_swscanf
#define swscanf_s __fm_swscanf_s
#define fputws __fm_fputws
#define fgetws __fm_fgetws
#define _putws __fm_putws
#define _getws_s __fm_getws_s
#define putwchar __fm_putwchar
#define getwchar __fm_getwchar
#define fputwc __fm_fputwc
#define fgetwc __fm_fgetwc
#define putwc __fm_fputwc
#define getwc __fm_fgetwc
#define _putwch __fm_putwchar
#define _wcsicmp __fm_wcsicmp
#define wcsicmp __fm_wcsicmp
#define _wcsnicmp __fm_wcsnicmp
#define wcsnicmp __fm_wcsnicmp
#define _wcsicoll __fm_wcsicmp
#define _wcsdup __fm_wcsdup
#define wcsnlen __fm_wcsnlen
#define wcsnlen_s __fm_wcsnlen

#ifdef __cplusplus
namespace std {
using ::__fm_fgetwc;
using ::__fm_fgetws;
using ::__fm_fputwc;
using ::__fm_fputws;
using ::__fm_fwprintf;
using ::__fm_fwscanf;
using ::__fm_getwchar;
using ::__fm_putwchar;
using ::__fm_swprintf;
using ::__fm_swscanf;
using ::__fm_vfwprintf;
using ::__fm_vswprintf;
using ::__fm_vwprintf;
using ::__fm_wprintf;
using ::__fm_wscanf;
using ::__fm_wcsnlen;
} // namespace std

/* The array-template overloads of the secure forms (the size comes from the array). */
extern "C++" {
template <size_t N> inline errno_t wcscpy_s(wchar_t (&d)[N], const wchar_t *s) { return wcscpy_s(d, N, s); }
template <size_t N> inline errno_t wcsncpy_s(wchar_t (&d)[N], const wchar_t *s, rsize_t count)
{
    return wcsncpy_s(d, N, s, count);
}
template <size_t N> inline errno_t wcscat_s(wchar_t (&d)[N], const wchar_t *s) { return wcscat_s(d, N, s); }
template <size_t N> inline errno_t wcsncat_s(wchar_t (&d)[N], const wchar_t *s, rsize_t count)
{
    return wcsncat_s(d, N, s, count);
}
template <size_t N> inline errno_t _itow_s(int v, wchar_t (&d)[N], int radix) { return _itow_s(v, d, N, radix); }
template <size_t N> inline errno_t _i64tow_s(long long v, wchar_t (&d)[N], int radix) { return _i64tow_s(v, d, N, radix); }
template <size_t N> inline wchar_t *__fm_getws_s(wchar_t (&d)[N]) { return __fm_getws_s(d, N); }
template <size_t N> inline errno_t _wcslwr_s(wchar_t (&d)[N]) { return _wcslwr_s(d, N); }
template <size_t N> inline errno_t _wcsupr_s(wchar_t (&d)[N]) { return _wcsupr_s(d, N); }
template <size_t N> inline errno_t mbstowcs_s(size_t *c, wchar_t (&d)[N], const char *s, size_t count)
{
    return mbstowcs_s(c, d, N, s, count);
}
template <size_t N> inline errno_t wcstombs_s(size_t *c, char (&d)[N], const wchar_t *s, size_t count)
{
    return wcstombs_s(c, d, N, s, count);
}
template <size_t N> inline int __fm_swprintf_s(wchar_t (&b)[N], const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vswprintf_s(b, N, fmt, ap);
    va_end(ap);
    return n;
}
template <size_t N> inline int __fm_swprintf(wchar_t (&b)[N], const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vswprintf(b, N, fmt, ap);
    va_end(ap);
    return n;
}
template <size_t N> inline int __fm_snwprintf_s(wchar_t (&b)[N], size_t count, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnwprintf_s(b, N, count, fmt, ap);
    va_end(ap);
    return n;
}
template <size_t N> inline int __fm_vswprintf_s(wchar_t (&b)[N], const wchar_t *fmt, va_list ap)
{
    return __fm_vswprintf_s(b, N, fmt, ap);
}

/* std::wcout, std::wcerr, std::wclog and std::wcin go through the C byte streams as UTF-8,
 * unbuffered on our side, so they interleave with printf/std::cout exactly. */
class __fm_wide_outbuf : public std::wstreambuf {
public:
    explicit __fm_wide_outbuf(FILE *fp) : fp_(fp) {}

protected:
    int_type overflow(int_type c) override
    {
        if (traits_type::eq_int_type(c, traits_type::eof()))
            return traits_type::not_eof(c);
        return __fm_fputwc(traits_type::to_char_type(c), fp_) == WEOF ? traits_type::eof() : c;
    }
    std::streamsize xsputn(const wchar_t *s, std::streamsize n) override
    {
        /* encoded a chunk at a time: one write per chunk on an unbuffered terminal */
        char chunk[256];
        size_t used = 0;
        std::streamsize i = 0;
        for (; i < n; i++) {
            if (used + 4 > sizeof chunk) {
                if (fwrite(chunk, 1, used, fp_) != used)
                    return i;
                used = 0;
            }
            used += __fm_put_utf8((unsigned long)(unsigned int)s[i], chunk + used);
        }
        return used == 0 || fwrite(chunk, 1, used, fp_) == used ? n : 0;
    }
    int sync() override { return fflush(fp_) == 0 ? 0 : -1; }

private:
    FILE *fp_;
};
class __fm_wide_inbuf : public std::wstreambuf {
public:
    explicit __fm_wide_inbuf(FILE *fp) : fp_(fp), ch_(0) {}

protected:
    int_type underflow() override
    {
        wint_t c;
        if (gptr() && gptr() < egptr())
            return traits_type::to_int_type(*gptr());
        c = __fm_fgetwc(fp_);
        if (c == WEOF)
            return traits_type::eof();
        ch_ = (wchar_t)c;
        setg(&ch_, &ch_, &ch_ + 1);
        return traits_type::to_int_type(ch_);
    }

private:
    FILE *fp_;
    wchar_t ch_;
};
inline int __fm_install_wide_streams()
{
    /* Never freed: the standard streams are flushed after static destructors have run. */
    static int done = (std::wcout.rdbuf(new __fm_wide_outbuf(stdout)), std::wcerr.rdbuf(new __fm_wide_outbuf(stderr)),
                       std::wclog.rdbuf(new __fm_wide_outbuf(stderr)), std::wcin.rdbuf(new __fm_wide_inbuf(stdin)), 1);
    return done;
}
static const int __fm_wide_streams_ready __attribute__((unused)) = __fm_install_wide_streams();
}
#endif /* __cplusplus */

#endif /* FILEMAP_WCHAR_H */
