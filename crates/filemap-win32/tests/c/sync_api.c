/* Every synchronization function and its Windows error codes, within a process and across
 * processes (a partner started with CreateProcess): creation/opening rules, type conflicts,
 * ownership, abandonment by a dying owner, semaphore limits, events (manual, auto, pulse),
 * waitable timers, waits on several objects, inheritance of sync handles by value. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#define CHECK_ROLE role
#include "check.h"

static const char *role = "parent";

static _TCHAR self_path[512];
static _TCHAR tag[32];

static void name(_TCHAR *out, const _TCHAR *what)
{
    _stprintf(out, TEXT("Local\\sync_api_%s_%s"), what, tag);
}

static DWORD run_partner(const _TCHAR *args, BOOL inherit)
{
    _TCHAR cmd[1024];
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    DWORD code = 0xdeadbeef;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf(cmd, TEXT("\"%s\" %s %s"), self_path, tag, args);
    if (!CreateProcess(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, &pi)) {
        CHECK(!"CreateProcess");
        return code;
    }
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

static void test_mutex(void)
{
    _TCHAR n[128];
    HANDLE m, m2;
    name(n, TEXT("mutex"));
    SetLastError(0xdeadbeef);
    m = CreateMutex(NULL, TRUE, n);
    CHECK(m != NULL && GetLastError() == 0);
    SetLastError(0xdeadbeef);
    m2 = CreateMutex(NULL, FALSE, n);
    CHECK(m2 != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    /* recursion: owned once by creation, twice more by waits */
    CHECK(WaitForSingleObject(m2, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);
    /* another process cannot take it, and cannot release it */
    CHECK(run_partner(TEXT("mutex_busy"), FALSE) == 10);
    CHECK(ReleaseMutex(m) && ReleaseMutex(m) && ReleaseMutex(m2));
    CHECK_ERR(!ReleaseMutex(m), ERROR_NOT_OWNER);
    /* free now: the partner takes it and dies holding it -> abandoned */
    CHECK(run_partner(TEXT("mutex_abandon"), FALSE) == 11);
    CHECK(WaitForSingleObject(m, 5000) == WAIT_ABANDONED);
    CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0); /* recursion, no longer abandoned */
    CHECK(ReleaseMutex(m) && ReleaseMutex(m));
    /* opens */
    CHECK_ERR(OpenMutex(MUTEX_ALL_ACCESS, FALSE, TEXT("Local\\sync_api_no_such_mutex")) == NULL, ERROR_FILE_NOT_FOUND);
    CHECK_ERR(OpenMutex(MUTEX_ALL_ACCESS, FALSE, NULL) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(OpenMutex(0, FALSE, n) == NULL, ERROR_ACCESS_DENIED);
    {
        HANDLE r = OpenMutex(GENERIC_READ | GENERIC_WRITE, FALSE, n); /* no SYNCHRONIZE */
        CHECK(r != NULL);
        CHECK_ERR(WaitForSingleObject(r, 0) == WAIT_FAILED, ERROR_ACCESS_DENIED);
        CloseHandle(r);
    }
    CHECK(CloseHandle(m2) && CloseHandle(m));
    CHECK_ERR(OpenMutex(SYNCHRONIZE, FALSE, n) == NULL, ERROR_FILE_NOT_FOUND);
}

static void test_types(void)
{
    _TCHAR n[128];
    HANDLE map, e;
    name(n, TEXT("shared_name"));
    map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, n);
    CHECK(map != NULL);
    CHECK_ERR(CreateMutex(NULL, FALSE, n) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateEvent(NULL, FALSE, FALSE, n) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateSemaphore(NULL, 0, 1, n) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateWaitableTimer(NULL, FALSE, n) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenEvent(EVENT_ALL_ACCESS, FALSE, n) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(WaitForSingleObject(map, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    e = CreateEvent(NULL, TRUE, FALSE, NULL);
    CHECK_ERR(!SetEvent(map), ERROR_INVALID_HANDLE);
    CHECK_ERR(!ReleaseMutex(e), ERROR_INVALID_HANDLE);
    CHECK_ERR(!ReleaseSemaphore(e, 1, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(MapViewOfFile(e, FILE_MAP_READ, 0, 0, 0) == NULL, ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(map) && CloseHandle(e));
}

static void test_semaphore(void)
{
    _TCHAR n[128];
    HANDLE s;
    LONG prev = 12345;
    name(n, TEXT("sem"));
    CHECK_ERR(CreateSemaphore(NULL, 3, 2, n) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateSemaphore(NULL, 0, 0, n) == NULL, ERROR_INVALID_PARAMETER);
    s = CreateSemaphore(NULL, 1, 2, n);
    CHECK(s != NULL);
    CHECK(ReleaseSemaphore(s, 1, &prev) && prev == 1);
    prev = 12345;
    CHECK_ERR(!ReleaseSemaphore(s, 1, &prev), ERROR_TOO_MANY_POSTS);
    CHECK(prev == 12345);
    CHECK(WaitForSingleObject(s, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(s, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(s, 50) == WAIT_TIMEOUT);
    /* the partner releases 2 */
    CHECK(run_partner(TEXT("sem_release"), FALSE) == 12);
    CHECK(WaitForSingleObject(s, 0) == WAIT_OBJECT_0 && WaitForSingleObject(s, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(s, 0) == WAIT_TIMEOUT);
    {
        HANDLE ro = OpenSemaphore(SYNCHRONIZE, FALSE, n);
        CHECK(ro != NULL);
        CHECK_ERR(!ReleaseSemaphore(ro, 1, NULL), ERROR_ACCESS_DENIED);
        CloseHandle(ro);
    }
    CHECK(CloseHandle(s));
}

static void test_events(void)
{
    _TCHAR n[128];
    HANDLE manual, autoev, both[2];
    name(n, TEXT("event"));
    manual = CreateEvent(NULL, TRUE, FALSE, n);
    autoev = CreateEvent(NULL, FALSE, TRUE, NULL);
    CHECK(manual && autoev);
    CHECK(WaitForSingleObject(autoev, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(autoev, 0) == WAIT_TIMEOUT); /* auto-reset consumed */
    CHECK(WaitForSingleObject(manual, 0) == WAIT_TIMEOUT);
    /* the partner sets the manual event by name */
    CHECK(run_partner(TEXT("event_set"), FALSE) == 13);
    CHECK(WaitForSingleObject(manual, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(manual, 0) == WAIT_OBJECT_0); /* stays set */
    CHECK(ResetEvent(manual));
    CHECK(WaitForSingleObject(manual, 0) == WAIT_TIMEOUT);
    CHECK(PulseEvent(manual)); /* nobody waits: stays unsignaled */
    CHECK(WaitForSingleObject(manual, 0) == WAIT_TIMEOUT);
    /* wait-any returns the lowest signaled index and consumes only it */
    CHECK(SetEvent(autoev) && SetEvent(manual));
    both[0] = manual;
    both[1] = autoev;
    CHECK(WaitForMultipleObjects(2, both, FALSE, 0) == WAIT_OBJECT_0);
    CHECK(ResetEvent(manual));
    CHECK(WaitForMultipleObjects(2, both, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(WaitForMultipleObjects(2, both, FALSE, 30) == WAIT_TIMEOUT);
    /* wait-all needs both */
    CHECK(SetEvent(manual));
    CHECK(WaitForMultipleObjects(2, both, TRUE, 30) == WAIT_TIMEOUT);
    CHECK(SetEvent(autoev));
    CHECK(WaitForMultipleObjects(2, both, TRUE, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(autoev, 0) == WAIT_TIMEOUT);
    CHECK(SignalObjectAndWait(autoev, manual, 0, FALSE) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(autoev, 0) == WAIT_OBJECT_0);
    {
        HANDLE ro = OpenEvent(SYNCHRONIZE, FALSE, n);
        CHECK(ro != NULL);
        CHECK_ERR(!SetEvent(ro), ERROR_ACCESS_DENIED);
        CloseHandle(ro);
    }
    CHECK(CloseHandle(manual) && CloseHandle(autoev));
}

static void test_timer(void)
{
    _TCHAR n[128];
    HANDLE t, m;
    LARGE_INTEGER due;
    DWORD start, took;
    name(n, TEXT("timer"));
    t = CreateWaitableTimer(NULL, FALSE, n);
    CHECK(t != NULL);
    CHECK(WaitForSingleObject(t, 20) == WAIT_TIMEOUT); /* inactive */
    due.QuadPart = -1000000; /* 100 ms, relative */
    start = GetTickCount();
    CHECK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE));
    CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0);
    took = GetTickCount() - start;
    CHECK(took >= 90 && took < 3000);
    CHECK(WaitForSingleObject(t, 0) == WAIT_TIMEOUT); /* synchronization timer: consumed */
    /* periodic, opened by name from another handle */
    m = OpenWaitableTimer(TIMER_ALL_ACCESS, FALSE, n);
    CHECK(m != NULL);
    due.QuadPart = -100000; /* 10 ms */
    CHECK(SetWaitableTimer(m, &due, 30, NULL, NULL, FALSE));
    CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0);
    CHECK(CancelWaitableTimer(t));
    CHECK_ERR(!SetWaitableTimer(t, &due, -1, NULL, NULL, FALSE), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!CancelWaitableTimer(NULL), ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(m) && CloseHandle(t));
    /* manual-reset: stays signaled */
    t = CreateWaitableTimer(NULL, TRUE, NULL);
    due.QuadPart = 0;
    CHECK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE));
    CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0 && WaitForSingleObject(t, 0) == WAIT_OBJECT_0);
    CHECK(CloseHandle(t));
}

static void test_inherited_event(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE e = CreateEvent(&sa, TRUE, FALSE, NULL);
    HANDLE sem = CreateSemaphore(&sa, 0, 5, NULL);
    _TCHAR args[128];
    CHECK(e && sem);
    _stprintf(args, TEXT("inherited %llu %llu"), (unsigned long long)(ULONG_PTR)e, (unsigned long long)(ULONG_PTR)sem);
    CHECK(run_partner(args, TRUE) == 14);
    CHECK(WaitForSingleObject(e, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(sem, 0) == WAIT_OBJECT_0 && WaitForSingleObject(sem, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(sem, 0) == WAIT_TIMEOUT);
    CHECK(CloseHandle(e) && CloseHandle(sem));
}

/* A partner that opens a named mapping and takes a named mutex, then is killed by
 * TerminateProcess: the mutex is abandoned, and the mapping's name dies with the last handle. */
static void test_killed_holder(void)
{
    _TCHAR nm[128], nx[128], cmd[1024];
    HANDLE map, mutex;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    DWORD code;
    int i;
    name(nm, TEXT("held_map"));
    name(nx, TEXT("held_mutex"));
    map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, nm);
    mutex = CreateMutex(NULL, FALSE, nx);
    CHECK(map && mutex);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf(cmd, TEXT("\"%s\" %s hold"), self_path, tag);
    CHECK(CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    /* wait until the partner owns the mutex */
    for (i = 0; i < 2000; i++) {
        if (WaitForSingleObject(mutex, 0) == WAIT_TIMEOUT)
            break;
        CHECK(ReleaseMutex(mutex));
        Sleep(5);
    }
    CHECK(TerminateProcess(pi.hProcess, 9));
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 9);
    CHECK(WaitForSingleObject(mutex, 5000) == WAIT_ABANDONED);
    CHECK(ReleaseMutex(mutex));
    CHECK(CloseHandle(map));
    SetLastError(0);
    CHECK(OpenFileMapping(FILE_MAP_READ, FALSE, nm) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(CloseHandle(mutex) && CloseHandle(pi.hProcess) && CloseHandle(pi.hThread));
}

static HANDLE parse_handle(const _TCHAR *s)
{
    unsigned long long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long long)(*s++ - '0');
    return (HANDLE)(ULONG_PTR)v;
}

static int partner(int argc, _TCHAR **argv)
{
    _TCHAR n[128];
    const _TCHAR *what = argv[2];
    role = "partner";
    if (_tcscmp(what, TEXT("mutex_busy")) == 0) {
        HANDLE m;
        name(n, TEXT("mutex"));
        m = OpenMutex(SYNCHRONIZE, FALSE, n);
        CHECK(m != NULL);
        CHECK(WaitForSingleObject(m, 50) == WAIT_TIMEOUT);
        CHECK_ERR(!ReleaseMutex(m), ERROR_NOT_OWNER);
        return failures ? 1 : 10;
    }
    if (_tcscmp(what, TEXT("mutex_abandon")) == 0) {
        HANDLE m;
        name(n, TEXT("mutex"));
        m = OpenMutex(SYNCHRONIZE, FALSE, n);
        CHECK(m != NULL && WaitForSingleObject(m, 5000) == WAIT_OBJECT_0);
        ExitProcess(failures ? 1 : 11); /* dies owning it */
    }
    if (_tcscmp(what, TEXT("sem_release")) == 0) {
        HANDLE s;
        LONG prev = -1;
        name(n, TEXT("sem"));
        s = OpenSemaphore(SEMAPHORE_MODIFY_STATE, FALSE, n);
        CHECK(s != NULL && ReleaseSemaphore(s, 2, &prev) && prev == 0);
        return failures ? 1 : 12;
    }
    if (_tcscmp(what, TEXT("event_set")) == 0) {
        HANDLE e;
        name(n, TEXT("event"));
        SetLastError(0xdeadbeef);
        e = CreateEvent(NULL, FALSE, FALSE, n); /* exists: opens it, parameters ignored */
        CHECK(e != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
        CHECK(SetEvent(e));
        return failures ? 1 : 13;
    }
    if (_tcscmp(what, TEXT("hold")) == 0) {
        HANDLE map, mutex;
        name(n, TEXT("held_map"));
        map = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, n);
        name(n, TEXT("held_mutex"));
        mutex = OpenMutex(SYNCHRONIZE, FALSE, n);
        CHECK(map && mutex && MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0) != NULL);
        CHECK(WaitForSingleObject(mutex, 5000) == WAIT_OBJECT_0);
        Sleep(INFINITE);
    }
    if (_tcscmp(what, TEXT("inherited")) == 0 && argc == 5) {
        HANDLE e = parse_handle(argv[3]), s = parse_handle(argv[4]);
        LONG prev = -1;
        CHECK(SetEvent(e));
        CHECK(ReleaseSemaphore(s, 2, &prev) && prev == 0);
        return failures ? 1 : 14;
    }
    return 99;
}

int _tmain(int argc, _TCHAR *argv[])
{
    _tcscpy(self_path, argv[0]);
    if (argc >= 3) {
        _tcscpy(tag, argv[1]);
        return partner(argc, argv);
    }
    _stprintf(tag, TEXT("%u"), (unsigned)GetCurrentProcessId());
    test_mutex();
    test_types();
    test_semaphore();
    test_events();
    test_timer();
    test_inherited_event();
    test_killed_holder();
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("SYNC OK\n"));
    return 0;
}
