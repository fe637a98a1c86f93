/* filemap_wchar16.h - 16-bit (UTF-16) string helpers behind tchar.h's _UNICODE mappings
 * (filemap-win32). Linux's wchar_t is 32-bit, so the C library's wcs* and wprintf functions
 * cannot take WCHAR strings; these inline functions do, and print as UTF-8.
 *
 * The printf family follows MSVC's wide printf rules: %s and %c take WCHAR strings/chars
 * (%ls, %ws, %lc too), %S, %hs, %C and %hc take narrow (char) ones; precision on a string
 * counts UTF-16 units. The output is converted to UTF-8 and written through C stdio, so it
 * interleaves correctly with printf. */
#ifndef FILEMAP_WCHAR16_H
#define FILEMAP_WCHAR16_H

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winnt.h"
#include "filemap_crt.h"

#define _FILEMAP_W16_INLINE static inline __attribute__((unused))

_FILEMAP_W16_INLINE size_t __fm_wcslen(const WCHAR *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
_FILEMAP_W16_INLINE WCHAR *__fm_wcscpy(WCHAR *d, const WCHAR *s)
{
    size_t i = 0;
    while ((d[i] = s[i]) != 0)
        i++;
    return d;
}
_FILEMAP_W16_INLINE WCHAR *__fm_wcsncpy(WCHAR *d, const WCHAR *s, size_t n)
{
    size_t i = 0;
    for (; i < n && s[i]; i++)
        d[i] = s[i];
    for (; i < n; i++)
        d[i] = 0;
    return d;
}
_FILEMAP_W16_INLINE WCHAR *__fm_wcscat(WCHAR *d, const WCHAR *s)
{
    __fm_wcscpy(d + __fm_wcslen(d), s);
    return d;
}
_FILEMAP_W16_INLINE int __fm_wcscmp(const WCHAR *a, const WCHAR *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)*a - (int)*b;
}
_FILEMAP_W16_INLINE int __fm_wcsncmp(const WCHAR *a, const WCHAR *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (int)*a - (int)*b;
        if (!*a)
            return 0;
    }
    return 0;
}
_FILEMAP_W16_INLINE WCHAR __fm_towlower(WCHAR c) { return (WCHAR)(c >= 'A' && c <= 'Z' ? c + 32 : c); }
_FILEMAP_W16_INLINE WCHAR __fm_towupper(WCHAR c) { return (WCHAR)(c >= 'a' && c <= 'z' ? c - 32 : c); }
_FILEMAP_W16_INLINE int __fm_wcsicmp(const WCHAR *a, const WCHAR *b)
{
    while (*a && __fm_towlower(*a) == __fm_towlower(*b)) {
        a++;
        b++;
    }
    return (int)__fm_towlower(*a) - (int)__fm_towlower(*b);
}
_FILEMAP_W16_INLINE WCHAR *__fm_wcschr(const WCHAR *s, int c)
{
    for (;; s++) {
        if (*s == (WCHAR)c)
            return (WCHAR *)s;
        if (!*s)
            return NULL;
    }
}
_FILEMAP_W16_INLINE WCHAR *__fm_wcsstr(const WCHAR *h, const WCHAR *n)
{
    size_t ln = __fm_wcslen(n);
    if (!ln)
        return (WCHAR *)h;
    for (; *h; h++)
        if (__fm_wcsncmp(h, n, ln) == 0)
            return (WCHAR *)h;
    return NULL;
}

/* UTF-16 (at most `max` units, or all when max < 0) to a malloc'd UTF-8 string. */
_FILEMAP_W16_INLINE char *__fm_to_utf8(const WCHAR *s, long max)
{
    size_t n = 0, i = 0, o = 0;
    char *out;
    while (s[n] && (max < 0 || (long)n < max))
        n++;
    out = (char *)malloc(n * 3 + 1);
    if (!out)
        return NULL;
    while (i < n) {
        unsigned long c = s[i++];
        if (c >= 0xD800 && c < 0xDC00 && i < n && s[i] >= 0xDC00 && s[i] < 0xE000)
            c = 0x10000 + ((c - 0xD800) << 10) + (s[i++] - 0xDC00);
        else if (c >= 0xD800 && c < 0xE000)
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

/* UTF-8 to UTF-16 into `out` (room for `cap` units including the NUL); returns the units
 * needed without the NUL. Invalid bytes become U+FFFD. */
_FILEMAP_W16_INLINE size_t __fm_from_utf8(const char *s, WCHAR *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
#define __FM_PUT(u)                                                                                                    \
    do {                                                                                                               \
        if (out && o + 1 < cap)                                                                                        \
            out[o] = (WCHAR)(u);                                                                                       \
        o++;                                                                                                           \
    } while (0)
    while (*p) {
        unsigned long c;
        int extra;
        if (*p < 0x80) {
            c = *p++;
            extra = 0;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p++ & 0x1F;
            extra = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p++ & 0x0F;
            extra = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p++ & 0x07;
            extra = 3;
        } else {
            p++;
            __FM_PUT(0xFFFD);
            continue;
        }
        while (extra-- > 0) {
            if ((*p & 0xC0) != 0x80) {
                c = 0xFFFD;
                break;
            }
            c = (c << 6) | (*p++ & 0x3F);
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            __FM_PUT(0xD800 + (c >> 10));
            __FM_PUT(0xDC00 + (c & 0x3FF));
        } else {
            __FM_PUT(c);
        }
    }
#undef __FM_PUT
    if (out && cap)
        out[o < cap ? o : cap - 1] = 0;
    return o;
}

struct __fm_buf {
    char *p;
    size_t len, cap;
};

_FILEMAP_W16_INLINE void __fm_put(struct __fm_buf *b, const char *s, size_t n)
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

/* Formats a UTF-16 format string (MSVC wide printf rules) into a malloc'd UTF-8 string. */
_FILEMAP_W16_INLINE char *__fm_vformat16(const WCHAR *fmt, va_list ap0)
{
    struct __fm_buf b = {NULL, 0, 0};
    const WCHAR *p = fmt;
    va_list ap;
    va_copy(ap, ap0);
    __fm_put(&b, "", 0);
    while (p && *p) {
        char spec[64], tmp[512];
        size_t si = 0;
        int precision = -1, n;
        enum { L_NONE, L_HH, L_H, L_L, L_LL, L_J, L_Z, L_T, L_BIG_L, L_I64, L_W } len = L_NONE;
        WCHAR conv;
        if (*p != '%') {
            const WCHAR *q = p;
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
            WCHAR w[2];
            char nb[2];
            if (wide) {
                w[0] = (WCHAR)ch;
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
                strcpy(spec + si, "s");
                n = snprintf(tmp, sizeof tmp, spec, u);
                __fm_put(&b, tmp, n > 0 ? (size_t)n : 0);
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
            char *dyn;
            size_t need;
            if (!arg) {
                text = "(null)";
            } else if (wide) {
                u = __fm_to_utf8((const WCHAR *)arg, precision);
                text = u ? u : "";
                /* the precision was applied in UTF-16 units: drop it from the spec */
                {
                    char *dot = strchr(spec, '.');
                    if (dot)
                        *dot = 0, si = strlen(spec);
                }
            } else {
                text = (const char *)arg;
            }
            spec[si] = 's';
            spec[si + 1] = 0;
            need = (size_t)snprintf(NULL, 0, spec, text);
            dyn = (char *)malloc(need + 1);
            if (dyn) {
                snprintf(dyn, need + 1, spec, text);
                __fm_put(&b, dyn, need);
                free(dyn);
            }
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

_FILEMAP_W16_INLINE int __fm_vfprintf16(FILE *fp, const WCHAR *fmt, va_list ap)
{
    char *s = __fm_vformat16(fmt, ap);
    int n;
    if (!s)
        return -1;
    n = fputs(s, fp) < 0 ? -1 : (int)strlen(s);
    free(s);
    return n;
}
_FILEMAP_W16_INLINE int __fm_printf16(const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vfprintf16(stdout, fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_W16_INLINE int __fm_fprintf16(FILE *fp, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vfprintf16(fp, fmt, ap);
    va_end(ap);
    return n;
}
/* Formats into a WCHAR buffer of `cap` units; returns the units written (without the NUL),
 * or -1 if it did not fit (the buffer then holds what fits, terminated). */
_FILEMAP_W16_INLINE int __fm_vsnprintf16(WCHAR *buf, size_t cap, const WCHAR *fmt, va_list ap)
{
    char *s = __fm_vformat16(fmt, ap);
    size_t n;
    if (!s)
        return -1;
    n = __fm_from_utf8(s, buf, cap);
    free(s);
    return n < cap ? (int)n : -1;
}
_FILEMAP_W16_INLINE int __fm_snprintf16(WCHAR *buf, size_t cap, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnprintf16(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}
/* swprintf without a size (MSVC's legacy _stprintf): the buffer must be large enough. */
_FILEMAP_W16_INLINE int __fm_sprintf16(WCHAR *buf, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnprintf16(buf, (size_t)-1 / sizeof(WCHAR), fmt, ap);
    va_end(ap);
    return n;
}
_FILEMAP_W16_INLINE int __fm_sprintf16_s(WCHAR *buf, size_t cap, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnprintf16(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 && buf && cap)
        buf[0] = 0;
    return n;
}
_FILEMAP_W16_INLINE int __fm_puts16(const WCHAR *s)
{
    char *u = __fm_to_utf8(s, -1);
    int r;
    if (!u)
        return -1;
    r = puts(u);
    free(u);
    return r;
}
_FILEMAP_W16_INLINE long __fm_wcstol(const WCHAR *s, WCHAR **end, int base)
{
    char *u = __fm_to_utf8(s, -1), *e = NULL;
    long v;
    if (!u)
        return 0;
    v = strtol(u, &e, base);
    if (end)
        *end = (WCHAR *)s + (e - u); /* ASCII digits: one unit per byte */
    free(u);
    return v;
}
_FILEMAP_W16_INLINE int __fm_wtoi(const WCHAR *s) { return (int)__fm_wcstol(s, NULL, 10); }
_FILEMAP_W16_INLINE WCHAR *__fm_itow(int value, WCHAR *buf, int radix)
{
    char tmp[72];
    _itoa(value, tmp, radix);
    __fm_from_utf8(tmp, buf, sizeof tmp);
    return buf;
}
_FILEMAP_W16_INLINE int __fm_itow_s(int value, WCHAR *buf, size_t cap, int radix)
{
    char tmp[72];
    size_t n;
    if (!buf || cap == 0)
        return EINVAL;
    if (_itoa_s(value, tmp, sizeof tmp, radix) != 0) {
        buf[0] = 0;
        return EINVAL;
    }
    n = strlen(tmp);
    if (n >= cap) {
        buf[0] = 0;
        return ERANGE;
    }
    __fm_from_utf8(tmp, buf, cap);
    return 0;
}
_FILEMAP_W16_INLINE int __fm_wcscpy_s(WCHAR *d, size_t cap, const WCHAR *s)
{
    size_t n;
    if (!d || cap == 0)
        return EINVAL;
    if (!s) {
        d[0] = 0;
        return EINVAL;
    }
    n = __fm_wcslen(s);
    if (n >= cap) {
        d[0] = 0;
        return ERANGE;
    }
    memcpy(d, s, (n + 1) * sizeof(WCHAR));
    return 0;
}
_FILEMAP_W16_INLINE int __fm_wcscat_s(WCHAR *d, size_t cap, const WCHAR *s)
{
    size_t dl, n;
    if (!d || cap == 0)
        return EINVAL;
    if (!s) {
        d[0] = 0;
        return EINVAL;
    }
    for (dl = 0; dl < cap && d[dl]; dl++)
        ;
    if (dl == cap) {
        d[0] = 0;
        return EINVAL;
    }
    n = __fm_wcslen(s);
    if (dl + n >= cap) {
        d[0] = 0;
        return ERANGE;
    }
    memcpy(d + dl, s, (n + 1) * sizeof(WCHAR));
    return 0;
}
/* Reads a line (UTF-8 input) into a WCHAR buffer, keeping the newline like fgets. */
_FILEMAP_W16_INLINE WCHAR *__fm_fgets16(WCHAR *buf, int n, FILE *fp)
{
    char *tmp;
    if (!buf || n <= 0)
        return NULL;
    tmp = (char *)malloc((size_t)n * 3 + 1);
    if (!tmp)
        return NULL;
    if (!fgets(tmp, n, fp)) {
        free(tmp);
        return NULL;
    }
    __fm_from_utf8(tmp, buf, (size_t)n);
    free(tmp);
    return buf;
}
/* gets_s for WCHAR buffers. */
_FILEMAP_W16_INLINE WCHAR *__fm_gets16_s(WCHAR *buf, size_t cap)
{
    char *tmp = (char *)malloc(cap * 3 + 1);
    WCHAR *r = NULL;
    if (!tmp)
        return NULL;
    if (gets_s(tmp, cap * 3 + 1)) {
        if (__fm_from_utf8(tmp, buf, cap) < cap)
            r = buf;
        else
            buf[0] = 0;
    }
    free(tmp);
    return r;
}

/* The scanf family for _UNICODE builds: UTF-16 formats; %s, %c and %[ fill WCHAR buffers
 * (the _s forms take their size in WCHARs); input is read as UTF-8. Without a size, a string
 * conversion reads at most 4095 characters. */
_FILEMAP_W16_INLINE size_t __fm_widen(const char *s, void *out, size_t cap)
{
    return __fm_from_utf8(s, (WCHAR *)out, cap);
}
_FILEMAP_W16_INLINE int __fm_vscanf16(FILE *fp, const WCHAR *text, const WCHAR *fmt, va_list ap, int secure)
{
    char *f = __fm_to_utf8(fmt, -1), *t = text ? __fm_to_utf8(text, -1) : NULL;
    const char *cursor = t;
    int n;
    if (!f || (text && !t)) {
        free(f);
        free(t);
        return EOF;
    }
    n = __filemap_vscanf_impl(fp, text ? &cursor : NULL, f, ap, secure, __fm_widen);
    free(f);
    free(t);
    return n;
}
_FILEMAP_W16_INLINE int __fm_scanf16(const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vscanf16(stdin, NULL, fmt, ap, 0);
    va_end(ap);
    return n;
}
_FILEMAP_W16_INLINE int __fm_scanf16_s(const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vscanf16(stdin, NULL, fmt, ap, 1);
    va_end(ap);
    return n;
}
_FILEMAP_W16_INLINE int __fm_sscanf16(const WCHAR *s, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vscanf16(NULL, s, fmt, ap, 0);
    va_end(ap);
    return n;
}
_FILEMAP_W16_INLINE int __fm_sscanf16_s(const WCHAR *s, const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vscanf16(NULL, s, fmt, ap, 1);
    va_end(ap);
    return n;
}

/* C++: the array-template overloads of the secure forms (the size comes from the array). */
#ifdef __cplusplus
extern "C++" {
template <size_t N> inline int __fm_wcscpy_s(WCHAR (&d)[N], const WCHAR *s) { return __fm_wcscpy_s(d, N, s); }
template <size_t N> inline int __fm_wcscat_s(WCHAR (&d)[N], const WCHAR *s) { return __fm_wcscat_s(d, N, s); }
template <size_t N> inline int __fm_itow_s(int value, WCHAR (&d)[N], int radix) { return __fm_itow_s(value, d, N, radix); }
template <size_t N> inline WCHAR *__fm_gets16_s(WCHAR (&d)[N]) { return __fm_gets16_s(d, N); }
template <size_t N> inline int __fm_sprintf16_s(WCHAR (&b)[N], const WCHAR *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = __fm_vsnprintf16(b, N, fmt, ap);
    va_end(ap);
    if (n < 0)
        b[0] = 0;
    return n;
}
}
#endif

#endif /* FILEMAP_WCHAR16_H */
