/* profileapi.h - the performance counter (exported by libfilemap_win32): CLOCK_MONOTONIC in
 * 100 ns ticks, frequency 10 MHz as on Windows 10 and later. */
#ifndef FILEMAP_PROFILEAPI_H
#define FILEMAP_PROFILEAPI_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
WINBASEAPI BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);

#ifdef __cplusplus
}
#endif

#endif /* FILEMAP_PROFILEAPI_H */
