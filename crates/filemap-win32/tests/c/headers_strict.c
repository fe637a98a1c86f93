/* Header hygiene: windows.h, tchar.h and conio.h compile warning-free under strict standards
 * (-std=c99/c11/c17 -pedantic -Wall -Wextra -Werror, and C++11/17/20), together with the C and
 * C++ standard libraries, and the layouts are Win32's. Built by the tests with -Werror. */
#include <Windows.h> /* the spelling many published sources use */
#include <windows.h>
#include <Tchar.h>
#include <tchar.h>
#include <conio.h>
#include <strsafe.h>
#include <SDKDDKVer.h>
#include <targetver.h>
#include <lmcons.h>
#include <io.h>
#include <fcntl.h>
#include <stdafx.h>
#include <stdio.h>
#include <string.h>
#ifdef __cplusplus
#include <algorithm>
#include <limits>
#include <string>
#include <vector>
#endif
#pragma comment(lib, "user32.lib")

#ifdef __cplusplus
#define STATIC_ASSERT(c, m) static_assert(c, #m)
#else
#define STATIC_ASSERT(c, m) typedef char static_assert_##m[(c) ? 1 : -1]
#endif

STATIC_ASSERT(sizeof(DWORD) == 4, dword);
STATIC_ASSERT(sizeof(LONG) == 4, long32);
STATIC_ASSERT(sizeof(WCHAR) == sizeof(wchar_t), wchar_is_wchar_t);
STATIC_ASSERT(sizeof(HANDLE) == 8, handle);
STATIC_ASSERT(sizeof(SYSTEM_INFO) == 48, system_info);
STATIC_ASSERT(sizeof(STARTUPINFOW) == 104, startupinfo);
STATIC_ASSERT(sizeof(OVERLAPPED) == 32, overlapped);
STATIC_ASSERT(sizeof(SECURITY_ATTRIBUTES) == 24, security_attributes);

int _tmain(void)
{
    TCHAR text[32];
    char narrow[16];
    SYSTEM_INFO si;
    LONG volatile counter = 0;
    ZeroMemory(&si, sizeof si);
    GetSystemInfo(&si);
    _tcscpy(text, TEXT("ok"));
    strcpy_s(narrow, _countof(narrow), "fine");
    InterlockedIncrement(&counter);
#ifdef __cplusplus
    {
        std::vector<int> v(3, 1);
        int biggest = *std::max_element(v.begin(), v.end());
        int m = std::max(biggest, std::numeric_limits<int>::min());
        (void)m;
        (void)std::min<size_t>(1, 2);
    }
#else
    (void)max(1, 2);
    (void)min(1, 2);
#endif
    _tprintf(TEXT("%s %s %u %d\n"), text, TEXT("headers"), (unsigned)si.dwAllocationGranularity, (int)counter);
    printf("%s\n", narrow);
    return 0;
}
