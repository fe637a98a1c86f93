/* basetsd.h - pointer-sized and fixed-size integer types (filemap-win32, LP64 Linux). */
#ifndef FILEMAP_BASETSD_H
#define FILEMAP_BASETSD_H

#include <stddef.h>

#if !defined(__LP64__) && !defined(_LP64)
#error "filemap-win32 headers target LP64 Linux (x86_64 / aarch64)"
#endif

#ifndef __int64
#define __int64 long long
#endif
#ifndef __int32
#define __int32 int
#endif
#ifndef __int16
#define __int16 short
#endif
#ifndef __int8
#define __int8 char
#endif

typedef signed char INT8, *PINT8;
typedef short INT16, *PINT16;
typedef int INT32, *PINT32;
typedef long long INT64, *PINT64;
typedef unsigned char UINT8, *PUINT8;
typedef unsigned short UINT16, *PUINT16;
typedef unsigned int UINT32, *PUINT32;
typedef unsigned long long UINT64, *PUINT64;
typedef int LONG32, *PLONG32;
typedef unsigned int ULONG32, *PULONG32;
typedef unsigned int DWORD32, *PDWORD32;
typedef long long LONG64, *PLONG64;
typedef unsigned long long ULONG64, *PULONG64;
typedef unsigned long long DWORD64, *PDWORD64;

/* Pointer-sized integers (64-bit). */
typedef long INT_PTR, *PINT_PTR;
typedef unsigned long UINT_PTR, *PUINT_PTR;
typedef long LONG_PTR, *PLONG_PTR;
typedef unsigned long ULONG_PTR, *PULONG_PTR;
typedef unsigned long DWORD_PTR, *PDWORD_PTR;
typedef int HALF_PTR, *PHALF_PTR;
typedef unsigned int UHALF_PTR, *PUHALF_PTR;

typedef size_t SIZE_T, *PSIZE_T;
typedef long SSIZE_T, *PSSIZE_T;

typedef ULONG_PTR KAFFINITY, *PKAFFINITY;

#define MAXUINT_PTR (~((UINT_PTR)0))
#define MAXINT_PTR ((INT_PTR)(MAXUINT_PTR >> 1))
#define MININT_PTR (~MAXINT_PTR)
#define MAXULONG_PTR (~((ULONG_PTR)0))
#define MAXLONG_PTR ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR (~MAXLONG_PTR)
#define MAXSIZE_T ((SIZE_T)~((SIZE_T)0))
#define MAXSSIZE_T ((SSIZE_T)(MAXSIZE_T >> 1))
#define MINSSIZE_T ((SSIZE_T)~MAXSSIZE_T)
#define MAXUINT32 ((UINT32)~((UINT32)0))
#define MAXINT32 ((INT32)(MAXUINT32 >> 1))
#define MININT32 ((INT32)~MAXINT32)
#define MAXUINT64 ((UINT64)~((UINT64)0))
#define MAXINT64 ((INT64)(MAXUINT64 >> 1))
#define MININT64 ((INT64)~MAXINT64)
#define MAXDWORD32 ((DWORD32)~((DWORD32)0))
#define MAXDWORD64 ((DWORD64)~((DWORD64)0))

#define HandleToULong(h) ((unsigned int)(ULONG_PTR)(h))
#define HandleToLong(h) ((int)(LONG_PTR)(h))
#define ULongToHandle(ul) ((void *)(ULONG_PTR)(ul))
#define LongToHandle(h) ((void *)(LONG_PTR)(h))
#define PtrToUlong(p) ((unsigned int)(ULONG_PTR)(p))
#define PtrToLong(p) ((int)(LONG_PTR)(p))
#define PtrToUint(p) ((unsigned int)(UINT_PTR)(p))
#define PtrToInt(p) ((int)(INT_PTR)(p))
#define UlongToPtr(ul) ((void *)(ULONG_PTR)(ul))
#define LongToPtr(l) ((void *)(LONG_PTR)(l))
#define UintToPtr(u) ((void *)(UINT_PTR)(u))
#define IntToPtr(i) ((void *)(INT_PTR)(i))

#endif /* FILEMAP_BASETSD_H */
