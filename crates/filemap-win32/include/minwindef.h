/* minwindef.h - fundamental Windows types and macros (filemap-win32, LP64 Linux). */
#ifndef FILEMAP_MINWINDEF_H
#define FILEMAP_MINWINDEF_H

#include "winnt.h"

#ifndef NULL
#ifdef __cplusplus
#define NULL __null
#else
#define NULL ((void *)0)
#endif
#endif

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

#define MAX_PATH 260

#define far
#define near
#ifndef FAR
#define FAR
#endif
#ifndef NEAR
#define NEAR
#endif
#define PASCAL
#define WINAPI_INLINE WINAPI

typedef unsigned int DWORD; /* 32-bit */
typedef int BOOL;
typedef int WINBOOL; /* MinGW's name for BOOL */
typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef float FLOAT;
typedef FLOAT *PFLOAT;
typedef BOOL *PBOOL, *LPBOOL;
typedef BYTE *PBYTE, *LPBYTE;
typedef int *PINT, *LPINT;
typedef WORD *PWORD, *LPWORD;
typedef DWORD *PDWORD, *LPDWORD;
typedef int INT;
typedef unsigned int UINT, *PUINT;
typedef UINT_PTR WPARAM;
typedef LONG_PTR LPARAM;
typedef LONG_PTR LRESULT;
typedef WORD ATOM;
typedef int HFILE;
typedef HANDLE *LPHANDLE;
typedef HANDLE HGLOBAL;
typedef HANDLE HLOCAL;
typedef HANDLE GLOBALHANDLE;
typedef HANDLE LOCALHANDLE;
typedef DWORD COLORREF, *LPCOLORREF;

#define DECLARE_HANDLE(name) struct name##__ { int unused; }; typedef struct name##__ *name
DECLARE_HANDLE(HWND);
DECLARE_HANDLE(HINSTANCE);
DECLARE_HANDLE(HKEY);
DECLARE_HANDLE(HRSRC);
typedef HINSTANCE HMODULE;
typedef HKEY *PHKEY;

typedef INT_PTR (*FARPROC)(void);
typedef INT_PTR (*NEARPROC)(void);
typedef INT_PTR (*PROC)(void);

typedef struct _FILETIME {
    DWORD dwLowDateTime;
    DWORD dwHighDateTime;
} FILETIME, *PFILETIME, *LPFILETIME;

#define MAKEWORD(a, b) ((WORD)(((BYTE)(((DWORD_PTR)(a)) & 0xff)) | ((WORD)((BYTE)(((DWORD_PTR)(b)) & 0xff))) << 8))
#define MAKELONG(a, b) ((LONG)(((WORD)(((DWORD_PTR)(a)) & 0xffff)) | ((DWORD)((WORD)(((DWORD_PTR)(b)) & 0xffff))) << 16))
#define LOWORD(l) ((WORD)(((DWORD_PTR)(l)) & 0xffff))
#define HIWORD(l) ((WORD)((((DWORD_PTR)(l)) >> 16) & 0xffff))
#define LOBYTE(w) ((BYTE)(((DWORD_PTR)(w)) & 0xff))
#define HIBYTE(w) ((BYTE)((((DWORD_PTR)(w)) >> 8) & 0xff))
#define MAKEWPARAM(l, h) ((WPARAM)(DWORD)MAKELONG(l, h))
#define MAKELPARAM(l, h) ((LPARAM)(DWORD)MAKELONG(l, h))
#define MAKELRESULT(l, h) ((LRESULT)(DWORD)MAKELONG(l, h))

/* min/max: C gets the Windows macros (unless NOMINMAX).  C++ gets two-argument
 * function templates instead: the macros would break libstdc++ (<algorithm>,
 * std::numeric_limits<T>::max(), ...).  std::min/std::max stay preferred by
 * overload resolution when both are visible (they are more specialized). */
#ifndef NOMINMAX
#ifndef __cplusplus
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#elif !defined(FILEMAP_NO_CXX_MINMAX) && !defined(max) && !defined(min)
#include <type_traits>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
template <class T, class U>
inline typename std::common_type<T, U>::type max(const T &a, const U &b)
{
    return (a > b) ? a : b;
}
template <class T, class U>
inline typename std::common_type<T, U>::type min(const T &a, const U &b)
{
    return (a < b) ? a : b;
}
#pragma GCC diagnostic pop
#endif
#endif

#endif /* FILEMAP_MINWINDEF_H */
