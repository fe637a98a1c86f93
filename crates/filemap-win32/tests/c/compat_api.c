/* The everyday API around shared memory that issue 10 lists, with Windows' error codes:
 * code pages, wsprintf, strsafe.h, the version headers, QueryPerformanceCounter, Create*Ex,
 * APCs and alertable waits, timer completion routines, thread priorities, ExitThread,
 * TerminateThread, LoadLibrary/GetProcAddress/FreeLibrary, GetTempFileName, the system
 * directories, computer and user names, CreateFileMapping(NULL, ...). Argument: the path of
 * the test DLL (a shared object built from compat_dll.c). */
#include "targetver.h"
#include <windows.h>
#include <strsafe.h>
#include <lmcons.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"

static volatile LONG apc_sum = 0;
static DWORD apc_thread = 0;
static void CALLBACK add_apc(ULONG_PTR v)
{
    apc_sum += (LONG)v;
    apc_thread = GetCurrentThreadId();
}

static volatile LONG timer_calls = 0;
static void CALLBACK on_timer(LPVOID arg, DWORD low, DWORD high)
{
    (void)low;
    (void)high;
    timer_calls++;
    *(DWORD *)arg = GetCurrentThreadId();
}

static HANDLE go;
static DWORD WINAPI exits_early(LPVOID p)
{
    (void)p;
    ExitThread(42);
}
static DWORD WINAPI spins(LPVOID p)
{
    (void)p;
    SetEvent(go);
    for (;;)
        Sleep(1);
}
static DWORD WINAPI alertable_worker(LPVOID p)
{
    DWORD r = WaitForSingleObjectEx((HANDLE)p, INFINITE, TRUE);
    return r;
}

typedef int(WINAPI *add_fn)(int, int);

int main(int argc, char **argv)
{
    WCHAR wide[16];
    char narrow[16], buf[64];
    TCHAR tbuf[64];
    WCHAR wbuf[64];
    int n;
    BOOL used = FALSE;
    LARGE_INTEGER f, t0, t1;
    HANDLE h, th, ev, timer;
    DWORD code, size, timer_thread = 0;
    size_t len;

    /* ---- code pages ---- */
    CHECK(GetACP() == CP_UTF8 && GetOEMCP() == CP_UTF8 && IsValidCodePage(1252) && !IsValidCodePage(12345));
    CHECK(MultiByteToWideChar(CP_UTF8, 0, "h\xc3\xa9", -1, NULL, 0) == 3);
    CHECK(MultiByteToWideChar(CP_ACP, 0, "h\xc3\xa9", -1, wide, 16) == 3 && wide[1] == 0xE9 && wide[2] == 0);
    CHECK(MultiByteToWideChar(CP_UTF8, 0, "abc", 3, wide, 16) == 3);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, 0, "abcdef", -1, wide, 3) == 0, ERROR_INSUFFICIENT_BUFFER);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, "a\xff", -1, wide, 16) == 0,
              ERROR_NO_UNICODE_TRANSLATION);
    CHECK(MultiByteToWideChar(CP_UTF8, 0, "a\xff", -1, wide, 16) == 3 && wide[1] == 0xFFFD);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, MB_PRECOMPOSED, "a", -1, wide, 16) == 0, ERROR_INVALID_FLAGS);
    CHECK_ERR(MultiByteToWideChar(CP_ACP, 0x10, "a", -1, wide, 16) == 0, ERROR_INVALID_FLAGS);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, 0, NULL, -1, wide, 16) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, 0, "a", 0, wide, 16) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(MultiByteToWideChar(CP_UTF8, 0, "a", -1, NULL, 5) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(MultiByteToWideChar(12345, 0, "a", -1, wide, 16) == 0, ERROR_INVALID_PARAMETER);
    CHECK(WideCharToMultiByte(CP_UTF8, 0, L"h\u00e9\u20ac", -1, narrow, 16, NULL, NULL) == 7 &&
          strcmp(narrow, "h\xc3\xa9\xe2\x82\xac") == 0);
    CHECK(WideCharToMultiByte(CP_UTF8, 0, L"h\u00e9", -1, NULL, 0, NULL, NULL) == 4);
    CHECK_ERR(WideCharToMultiByte(CP_UTF8, 0, L"h\u00e9", -1, narrow, 2, NULL, NULL) == 0, ERROR_INSUFFICIENT_BUFFER);
    CHECK_ERR(WideCharToMultiByte(CP_UTF8, 0, L"a", -1, narrow, 16, "?", NULL) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(WideCharToMultiByte(CP_UTF8, 0, L"a", -1, narrow, 16, NULL, &used) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(WideCharToMultiByte(CP_ACP, 0x100, L"a", -1, narrow, 16, NULL, NULL) == 0, ERROR_INVALID_FLAGS);
    CHECK(WideCharToMultiByte(1252, 0, L"\u20ac\u0416", -1, narrow, 16, NULL, &used) == 3 && used &&
          (unsigned char)narrow[0] == 0x80 && narrow[1] == '?');

    /* ---- wsprintf, strsafe, version macros, limits ---- */
    CHECK(_WIN32_WINNT >= 0x0600 && WINVER == _WIN32_WINNT && SW_SHOWNORMAL == 1 && SW_HIDE == 0);
    CHECK(_MAX_PATH == 260 && _MAX_FNAME == 256 && _MAX_EXT == 256 && _MAX_DIR == 256 && _MAX_DRIVE == 3);
    CHECK(sizeof(WINBOOL) == sizeof(BOOL) && UNLEN == 256 && MAX_COMPUTERNAME_LENGTH == 15);
    CHECK(wsprintfA(buf, "%d-%s-%c", 7, "x", 'y') == 5 && strcmp(buf, "7-x-y") == 0);
    CHECK(wsprintfW(wbuf, L"%d %s", 8, L"wide") == 6 && wcscmp(wbuf, L"8 wide") == 0);
    CHECK(wsprintf(tbuf, TEXT("%u"), 12u) == 2);
    CHECK(StringCchCopyA(buf, 4, "abcdef") == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(buf, "abc") == 0);
    CHECK(StringCchCopyA(buf, 64, "abc") == S_OK && StringCchCatA(buf, 64, "def") == S_OK && strcmp(buf, "abcdef") == 0);
    CHECK(StringCchCatA(buf, 8, "ghij") == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(buf, "abcdefg") == 0);
    CHECK(StringCchPrintfW(wbuf, 64, L"%s=%d", L"n", 5) == S_OK && wcscmp(wbuf, L"n=5") == 0);
    CHECK(StringCchPrintfA(buf, 3, "%d", 12345) == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(buf, "12") == 0);
    CHECK(StringCbCopyW(wbuf, sizeof wbuf, L"bytes") == S_OK && StringCchLengthW(wbuf, 64, &len) == S_OK && len == 5);
    CHECK(StringCchCopyA(buf, 0, "x") == STRSAFE_E_INVALID_PARAMETER);
    CHECK(StringCchCopy(tbuf, _countof(tbuf), TEXT("tchar")) == S_OK && StringCbLength(tbuf, sizeof tbuf, &len) == S_OK &&
          len == 5 * sizeof(TCHAR));

    /* ---- performance counter ---- */
    CHECK(QueryPerformanceFrequency(&f) && f.QuadPart == 10000000);
    CHECK(QueryPerformanceCounter(&t0));
    Sleep(20);
    CHECK(QueryPerformanceCounter(&t1));
    CHECK((t1.QuadPart - t0.QuadPart) * 1000 / f.QuadPart >= 19);
    CHECK_ERR(!QueryPerformanceCounter(NULL), ERROR_NOACCESS);

    /* ---- Create*Ex ---- */
    ev = CreateEventEx(NULL, TEXT("Local\\compat_api_ex"), CREATE_EVENT_MANUAL_RESET | CREATE_EVENT_INITIAL_SET,
                       EVENT_ALL_ACCESS);
    CHECK(ev != NULL && GetLastError() == 0 && WaitForSingleObject(ev, 0) == WAIT_OBJECT_0 &&
          WaitForSingleObject(ev, 0) == WAIT_OBJECT_0);
    h = CreateEventExA(NULL, "Local\\compat_api_ex", 0, SYNCHRONIZE);
    CHECK(h != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK_ERR(!SetEvent(h), ERROR_ACCESS_DENIED); /* only SYNCHRONIZE was asked for */
    CHECK(CloseHandle(h));
    CHECK_ERR(CreateEventExA(NULL, NULL, 0x4, EVENT_ALL_ACCESS) == NULL, ERROR_INVALID_PARAMETER);
    h = CreateMutexExW(NULL, NULL, CREATE_MUTEX_INITIAL_OWNER, MUTEX_ALL_ACCESS);
    CHECK(h != NULL && ReleaseMutex(h) && CloseHandle(h));
    h = CreateSemaphoreExA(NULL, 1, 2, NULL, 0, SEMAPHORE_ALL_ACCESS);
    CHECK(h != NULL && WaitForSingleObject(h, 0) == WAIT_OBJECT_0 && WaitForSingleObject(h, 0) == WAIT_TIMEOUT);
    CHECK(CloseHandle(h));
    CHECK_ERR(CreateSemaphoreExA(NULL, 1, 2, NULL, 1, SEMAPHORE_ALL_ACCESS) == NULL, ERROR_INVALID_PARAMETER);

    /* ---- APCs ---- */
    CHECK(QueueUserAPC(add_apc, GetCurrentThread(), 5));
    CHECK(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0 && apc_sum == 0); /* not alertable: stays queued */
    CHECK(SleepEx(0, FALSE) == 0 && apc_sum == 0);
    CHECK(WaitForSingleObjectEx(ev, 1000, TRUE) == WAIT_OBJECT_0 && apc_sum == 0); /* signaled object wins */
    CHECK(ResetEvent(ev));
    CHECK(WaitForSingleObjectEx(ev, 1000, TRUE) == WAIT_IO_COMPLETION && apc_sum == 5);
    CHECK(QueueUserAPC(add_apc, GetCurrentThread(), 1) && QueueUserAPC(add_apc, GetCurrentThread(), 2));
    CHECK(SleepEx(INFINITE, TRUE) == WAIT_IO_COMPLETION && apc_sum == 8);
    CHECK(SleepEx(10, TRUE) == 0);
    CHECK(QueueUserAPC(add_apc, GetCurrentThread(), 10));
    CHECK(WaitForMultipleObjectsEx(1, &ev, FALSE, 0, TRUE) == WAIT_IO_COMPLETION && apc_sum == 18);
    CHECK(QueueUserAPC(add_apc, GetCurrentThread(), 100));
    CHECK(WaitForMultipleObjectsEx(1, &ev, TRUE, 500, TRUE) == WAIT_IO_COMPLETION && apc_sum == 118);
    CHECK(QueueUserAPC(add_apc, GetCurrentThread(), 1000));
    h = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK(SignalObjectAndWait(h, ev, 500, TRUE) == WAIT_IO_COMPLETION && apc_sum == 1118);
    CHECK(WaitForSingleObject(h, 0) == WAIT_OBJECT_0 && CloseHandle(h));
    CHECK_ERR(!QueueUserAPC(NULL, GetCurrentThread(), 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!QueueUserAPC(add_apc, ev, 0), ERROR_INVALID_HANDLE);
    /* to another thread, waking its alertable wait */
    th = CreateThread(NULL, 0, alertable_worker, ev, 0, NULL);
    Sleep(50);
    CHECK(QueueUserAPC(add_apc, th, 1));
    CHECK(WaitForSingleObject(th, 5000) == WAIT_OBJECT_0 && GetExitCodeThread(th, &code) && code == WAIT_IO_COMPLETION);
    CHECK(apc_sum == 1119 && apc_thread == GetThreadId(th));
    CHECK_ERR(!QueueUserAPC(add_apc, th, 1), ERROR_GEN_FAILURE);
    CHECK(CloseHandle(th));

    /* ---- timer completion routine ---- */
    timer = CreateWaitableTimer(NULL, FALSE, NULL);
    t0.QuadPart = -200000; /* 20 ms */
    CHECK(SetWaitableTimer(timer, &t0, 30, on_timer, &timer_thread, FALSE));
    while (timer_calls < 3)
        CHECK(SleepEx(2000, TRUE) == WAIT_IO_COMPLETION);
    CHECK(timer_thread == GetCurrentThreadId());
    CHECK(CancelWaitableTimer(timer));
    n = timer_calls;
    SleepEx(100, TRUE);
    CHECK(timer_calls == n);
    CHECK(CloseHandle(timer));

    /* ---- threads: priorities, ExitThread, TerminateThread ---- */
    CHECK(GetThreadPriority(GetCurrentThread()) == THREAD_PRIORITY_NORMAL);
    CHECK(SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL));
    CHECK(GetThreadPriority(GetCurrentThread()) == THREAD_PRIORITY_BELOW_NORMAL);
    CHECK_ERR(!SetThreadPriority(GetCurrentThread(), 7), ERROR_INVALID_PARAMETER);
    CHECK_ERR(GetThreadPriority(ev) == THREAD_PRIORITY_ERROR_RETURN, ERROR_INVALID_HANDLE);
    CHECK(SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_NORMAL));
    th = CreateThread(NULL, 0, exits_early, NULL, 0, NULL);
    CHECK(WaitForSingleObject(th, 5000) == WAIT_OBJECT_0 && GetExitCodeThread(th, &code) && code == 42);
    CHECK(CloseHandle(th));
    go = CreateEvent(NULL, FALSE, FALSE, NULL);
    th = CreateThread(NULL, 0, spins, NULL, 0, NULL);
    CHECK(WaitForSingleObject(go, 5000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(th, &code) && code == STILL_ACTIVE);
    CHECK(TerminateThread(th, 7));
    CHECK(WaitForSingleObject(th, 5000) == WAIT_OBJECT_0 && GetExitCodeThread(th, &code) && code == 7);
    CHECK(TerminateThread(th, 9) && GetExitCodeThread(th, &code) && code == 7);
    CHECK(CloseHandle(th));

    /* ---- DLLs ---- */
    if (argc > 1) {
        HMODULE dll = LoadLibraryA(argv[1]), again;
        add_fn add;
        int *counter;
        CHECK(dll != NULL);
        add = (add_fn)GetProcAddress(dll, "Add");
        counter = (int *)GetProcAddress(dll, "attach_count");
        CHECK(add != NULL && add(2, 3) == 5 && counter != NULL && *counter == 1);
        again = LoadLibraryA(argv[1]);
        CHECK(again == dll && *counter == 1);
        CHECK(GetModuleHandleA("compat_dll.dll") == dll && GetModuleHandleA("COMPAT_DLL") == dll);
        { char path[MAX_PATH]; CHECK(GetModuleFileNameA(dll, path, MAX_PATH) > 0 && strstr(path, "compat_dll") != NULL); }
        CHECK_ERR(GetProcAddress(dll, "NoSuchFunction") == NULL, ERROR_PROC_NOT_FOUND);
        CHECK_ERR(GetProcAddress(dll, (LPCSTR)1) == NULL, ERROR_PROC_NOT_FOUND);
        CHECK(FreeLibrary(dll) && FreeLibrary(again));
        CHECK_ERR(!FreeLibrary(dll), ERROR_MOD_NOT_FOUND);
    }
    CHECK_ERR(LoadLibraryA("no_such_library_compat.dll") == NULL, ERROR_MOD_NOT_FOUND);
    CHECK_ERR(LoadLibraryW(L"no_such_library_compat") == NULL, ERROR_MOD_NOT_FOUND);
    {
        HMODULE k32 = LoadLibraryA("KERNEL32.DLL");
        typedef DWORD(WINAPI * pid_fn)(void);
        pid_fn pid = (pid_fn)GetProcAddress(k32, "GetCurrentProcessId");
        CHECK(k32 != NULL && pid != NULL && pid() == GetCurrentProcessId());
        CHECK(GetModuleHandle(TEXT("kernel32")) == k32);
    }

    /* ---- names and directories ---- */
    CHECK(GetTempFileNameA(".", "cmp", 0x1234, buf) == 0x1234 && strcmp(buf, "./cmp1234.tmp") == 0);
    CHECK(GetFileAttributesA(buf) == INVALID_FILE_ATTRIBUTES); /* uUnique != 0: not created */
    n = (int)GetTempFileNameA(".", "compat", 0, buf);
    CHECK(n != 0 && strncmp(buf, "./com", 5) == 0 && GetFileAttributesA(buf) != INVALID_FILE_ATTRIBUTES);
    CHECK(DeleteFileA(buf));
    CHECK(GetTempFileNameW(L".", L"w", 0xABC, wbuf) == 0xABC && wcscmp(wbuf, L"./wABC.tmp") == 0);
    CHECK_ERR(GetTempFileNameA("./no/such/dir", "x", 0, buf) == 0, ERROR_DIRECTORY);
    CHECK(GetSystemDirectoryA(buf, sizeof buf) == strlen(buf) && buf[0] == '/');
    CHECK(GetSystemDirectoryA(buf, 2) == strlen("/usr/lib") + 1);
    CHECK(GetWindowsDirectoryW(wbuf, 64) == wcslen(wbuf) && wbuf[0] == '/');
    size = sizeof buf;
    CHECK(GetComputerNameA(buf, &size) && size == strlen(buf) && size > 0 && size <= MAX_COMPUTERNAME_LENGTH);
    size = 1;
    CHECK_ERR(!GetComputerNameA(buf, &size), ERROR_BUFFER_OVERFLOW);
    CHECK(size > 1);
    size = 64;
    CHECK(GetUserNameW(wbuf, &size) && size == wcslen(wbuf) + 1 && wcscmp(wbuf, L"root") == 0);
    size = 2;
    CHECK_ERR(!GetUserNameA(buf, &size), ERROR_INSUFFICIENT_BUFFER);
    CHECK(size == 5);

    /* ---- CreateFileMapping with hFile == NULL is paging-file backed ---- */
    h = CreateFileMappingA(NULL, NULL, PAGE_READWRITE, 0, 4096, "Local\\compat_api_nullfile");
    CHECK(h != NULL && GetLastError() == 0);
    {
        char *v = (char *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        CHECK(v != NULL);
        if (v) {
            strcpy(v, "paged");
            CHECK(UnmapViewOfFile(v));
        }
    }
    CHECK(CloseHandle(h) && CloseHandle(ev));

    printf("%s\n", failures ? "COMPAT FAILED" : "COMPAT OK");
    return failures != 0;
}
