/* strsafe.h - the Windows SDK's safe string functions, inline (filemap-win32).
 *
 * StringCch* sizes are in characters, StringCb* in bytes; the destination is always
 * terminated (unless its size is 0). Results: S_OK, STRSAFE_E_INSUFFICIENT_BUFFER (the text
 * was truncated to fit) or STRSAFE_E_INVALID_PARAMETER (size 0 or above STRSAFE_MAX_CCH,
 * NULL destination). The W forms take wchar_t text and format with MSVC's wide printf rules. */
#ifndef FILEMAP_STRSAFE_H
#define FILEMAP_STRSAFE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "winnt.h"
#include "winerror.h"
#include "filemap_wchar.h"

#ifndef STRSAFE_MAX_CCH
#define STRSAFE_MAX_CCH 2147483647
#endif
#define STRSAFE_MAX_LENGTH (STRSAFE_MAX_CCH - 1)
#ifndef _HRESULT_TYPEDEF_
#define _HRESULT_TYPEDEF_(x) ((HRESULT)x)
#endif
#define STRSAFE_E_INSUFFICIENT_BUFFER ((HRESULT)0x8007007AL)
#define STRSAFE_E_INVALID_PARAMETER ((HRESULT)0x80070057L)
#define STRSAFE_E_END_OF_FILE ((HRESULT)0x80070026L)

#define STRSAFE_IGNORE_NULLS 0x00000100
#define STRSAFE_FILL_BEHIND_NULL 0x00000200
#define STRSAFE_FILL_ON_FAILURE 0x00000400
#define STRSAFE_NULL_ON_FAILURE 0x00000800
#define STRSAFE_NO_TRUNCATION 0x00001000

typedef char *STRSAFE_LPSTR;
typedef const char *STRSAFE_LPCSTR;
typedef wchar_t *STRSAFE_LPWSTR;
typedef const wchar_t *STRSAFE_LPCWSTR;

#define _FILEMAP_STRSAFE static inline __attribute__((unused))

/* One body for char and wchar_t: copy at most `max` characters of `src` to `dst` (room for
 * `cch` with the NUL). */
#define __FM_STRSAFE_COPY(T)                                                                                           \
    size_t i;                                                                                                          \
    if (!dst || cch == 0 || cch > STRSAFE_MAX_CCH)                                                                     \
        return STRSAFE_E_INVALID_PARAMETER;                                                                            \
    if (!src)                                                                                                          \
        src = (const T *)"\0\0\0";                                                                                     \
    for (i = 0; i < max && src[i]; i++) {                                                                              \
        if (i + 1 >= cch) {                                                                                            \
            dst[i] = 0;                                                                                                \
            return STRSAFE_E_INSUFFICIENT_BUFFER;                                                                      \
        }                                                                                                              \
        dst[i] = src[i];                                                                                               \
    }                                                                                                                  \
    dst[i] = 0;                                                                                                        \
    return S_OK;

_FILEMAP_STRSAFE HRESULT StringCchCopyNA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR src, size_t max)
{
    __FM_STRSAFE_COPY(char)
}
_FILEMAP_STRSAFE HRESULT StringCchCopyNW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR src, size_t max)
{
    __FM_STRSAFE_COPY(wchar_t)
}
_FILEMAP_STRSAFE HRESULT StringCchCopyA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR src)
{
    return StringCchCopyNA(dst, cch, src, (size_t)-1);
}
_FILEMAP_STRSAFE HRESULT StringCchCopyW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR src)
{
    return StringCchCopyNW(dst, cch, src, (size_t)-1);
}

_FILEMAP_STRSAFE HRESULT StringCchLengthA(STRSAFE_LPCSTR s, size_t cchMax, size_t *len)
{
    size_t n = 0;
    if (!s || cchMax > STRSAFE_MAX_CCH) {
        if (len)
            *len = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    while (n < cchMax && s[n])
        n++;
    if (n == cchMax) {
        if (len)
            *len = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    if (len)
        *len = n;
    return S_OK;
}
_FILEMAP_STRSAFE HRESULT StringCchLengthW(STRSAFE_LPCWSTR s, size_t cchMax, size_t *len)
{
    size_t n = 0;
    if (!s || cchMax > STRSAFE_MAX_CCH) {
        if (len)
            *len = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    while (n < cchMax && s[n])
        n++;
    if (n == cchMax) {
        if (len)
            *len = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    if (len)
        *len = n;
    return S_OK;
}

_FILEMAP_STRSAFE HRESULT StringCchCatNA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR src, size_t max)
{
    size_t d;
    if (!dst || StringCchLengthA(dst, cch, &d) != S_OK)
        return STRSAFE_E_INVALID_PARAMETER;
    return StringCchCopyNA(dst + d, cch - d, src, max);
}
_FILEMAP_STRSAFE HRESULT StringCchCatNW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR src, size_t max)
{
    size_t d;
    if (!dst || StringCchLengthW(dst, cch, &d) != S_OK)
        return STRSAFE_E_INVALID_PARAMETER;
    return StringCchCopyNW(dst + d, cch - d, src, max);
}
_FILEMAP_STRSAFE HRESULT StringCchCatA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR src)
{
    return StringCchCatNA(dst, cch, src, (size_t)-1);
}
_FILEMAP_STRSAFE HRESULT StringCchCatW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR src)
{
    return StringCchCatNW(dst, cch, src, (size_t)-1);
}

_FILEMAP_STRSAFE HRESULT StringCchVPrintfA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR fmt, va_list ap)
{
    int n;
    if (!dst || cch == 0 || cch > STRSAFE_MAX_CCH)
        return STRSAFE_E_INVALID_PARAMETER;
    if (!fmt) {
        dst[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    n = vsnprintf(dst, cch, fmt, ap);
    if (n < 0) {
        dst[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    return (size_t)n >= cch ? STRSAFE_E_INSUFFICIENT_BUFFER : S_OK;
}
_FILEMAP_STRSAFE HRESULT StringCchVPrintfW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR fmt, va_list ap)
{
    int n;
    if (!dst || cch == 0 || cch > STRSAFE_MAX_CCH)
        return STRSAFE_E_INVALID_PARAMETER;
    if (!fmt) {
        dst[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    n = __fm_vformat_into(dst, cch, fmt, ap);
    if (n < 0) {
        dst[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    return (size_t)n >= cch ? STRSAFE_E_INSUFFICIENT_BUFFER : S_OK;
}
_FILEMAP_STRSAFE HRESULT StringCchPrintfA(STRSAFE_LPSTR dst, size_t cch, STRSAFE_LPCSTR fmt, ...)
{
    va_list ap;
    HRESULT hr;
    va_start(ap, fmt);
    hr = StringCchVPrintfA(dst, cch, fmt, ap);
    va_end(ap);
    return hr;
}
_FILEMAP_STRSAFE HRESULT StringCchPrintfW(STRSAFE_LPWSTR dst, size_t cch, STRSAFE_LPCWSTR fmt, ...)
{
    va_list ap;
    HRESULT hr;
    va_start(ap, fmt);
    hr = StringCchVPrintfW(dst, cch, fmt, ap);
    va_end(ap);
    return hr;
}

/* The byte-sized forms. */
#define __FM_CB_A(cb) ((cb) / sizeof(char))
#define __FM_CB_W(cb) ((cb) / sizeof(wchar_t))
_FILEMAP_STRSAFE HRESULT StringCbCopyA(STRSAFE_LPSTR d, size_t cb, STRSAFE_LPCSTR s) { return StringCchCopyA(d, __FM_CB_A(cb), s); }
_FILEMAP_STRSAFE HRESULT StringCbCopyW(STRSAFE_LPWSTR d, size_t cb, STRSAFE_LPCWSTR s)
{
    return StringCchCopyW(d, __FM_CB_W(cb), s);
}
_FILEMAP_STRSAFE HRESULT StringCbCopyNA(STRSAFE_LPSTR d, size_t cb, STRSAFE_LPCSTR s, size_t cbMax)
{
    return StringCchCopyNA(d, __FM_CB_A(cb), s, __FM_CB_A(cbMax));
}
_FILEMAP_STRSAFE HRESULT StringCbCopyNW(STRSAFE_LPWSTR d, size_t cb, STRSAFE_LPCWSTR s, size_t cbMax)
{
    return StringCchCopyNW(d, __FM_CB_W(cb), s, __FM_CB_W(cbMax));
}
_FILEMAP_STRSAFE HRESULT StringCbCatA(STRSAFE_LPSTR d, size_t cb, STRSAFE_LPCSTR s) { return StringCchCatA(d, __FM_CB_A(cb), s); }
_FILEMAP_STRSAFE HRESULT StringCbCatW(STRSAFE_LPWSTR d, size_t cb, STRSAFE_LPCWSTR s) { return StringCchCatW(d, __FM_CB_W(cb), s); }
_FILEMAP_STRSAFE HRESULT StringCbLengthA(STRSAFE_LPCSTR s, size_t cbMax, size_t *cb)
{
    HRESULT hr = StringCchLengthA(s, __FM_CB_A(cbMax), cb);
    if (cb)
        *cb *= sizeof(char);
    return hr;
}
_FILEMAP_STRSAFE HRESULT StringCbLengthW(STRSAFE_LPCWSTR s, size_t cbMax, size_t *cb)
{
    HRESULT hr = StringCchLengthW(s, __FM_CB_W(cbMax), cb);
    if (cb)
        *cb *= sizeof(wchar_t);
    return hr;
}
_FILEMAP_STRSAFE HRESULT StringCbVPrintfA(STRSAFE_LPSTR d, size_t cb, STRSAFE_LPCSTR fmt, va_list ap)
{
    return StringCchVPrintfA(d, __FM_CB_A(cb), fmt, ap);
}
_FILEMAP_STRSAFE HRESULT StringCbVPrintfW(STRSAFE_LPWSTR d, size_t cb, STRSAFE_LPCWSTR fmt, va_list ap)
{
    return StringCchVPrintfW(d, __FM_CB_W(cb), fmt, ap);
}
_FILEMAP_STRSAFE HRESULT StringCbPrintfA(STRSAFE_LPSTR d, size_t cb, STRSAFE_LPCSTR fmt, ...)
{
    va_list ap;
    HRESULT hr;
    va_start(ap, fmt);
    hr = StringCchVPrintfA(d, __FM_CB_A(cb), fmt, ap);
    va_end(ap);
    return hr;
}
_FILEMAP_STRSAFE HRESULT StringCbPrintfW(STRSAFE_LPWSTR d, size_t cb, STRSAFE_LPCWSTR fmt, ...)
{
    va_list ap;
    HRESULT hr;
    va_start(ap, fmt);
    hr = StringCchVPrintfW(d, __FM_CB_W(cb), fmt, ap);
    va_end(ap);
    return hr;
}

#ifdef UNICODE
#define StringCchCopy StringCchCopyW
#define StringCchCopyN StringCchCopyNW
#define StringCchCat StringCchCatW
#define StringCchCatN StringCchCatNW
#define StringCchLength StringCchLengthW
#define StringCchPrintf StringCchPrintfW
#define StringCchVPrintf StringCchVPrintfW
#define StringCbCopy StringCbCopyW
#define StringCbCopyN StringCbCopyNW
#define StringCbCat StringCbCatW
#define StringCbLength StringCbLengthW
#define StringCbPrintf StringCbPrintfW
#define StringCbVPrintf StringCbVPrintfW
#else
#define StringCchCopy StringCchCopyA
#define StringCchCopyN StringCchCopyNA
#define StringCchCat StringCchCatA
#define StringCchCatN StringCchCatNA
#define StringCchLength StringCchLengthA
#define StringCchPrintf StringCchPrintfA
#define StringCchVPrintf StringCchVPrintfA
#define StringCbCopy StringCbCopyA
#define StringCbCopyN StringCbCopyNA
#define StringCbCat StringCbCatA
#define StringCbLength StringCbLengthA
#define StringCbPrintf StringCbPrintfA
#define StringCbVPrintf StringCbVPrintfA
#endif

#endif /* FILEMAP_STRSAFE_H */
