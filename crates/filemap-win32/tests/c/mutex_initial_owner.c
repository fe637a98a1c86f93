/* Initially-owned mutexes through every creation path: unnamed (NULL and ""), named (new and
 * existing), and CreateMutexEx with CREATE_MUTEX_INITIAL_OWNER (Microsoft's PAL test
 * CreateMutexW_ReleaseMutex/test2 does the unnamed case; it used to crash on release). */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"

static HANDLE g_m;

static DWORD WINAPI try_take(LPVOID param)
{
    DWORD r = WaitForSingleObject(g_m, 0);
    (void)param;
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
        ReleaseMutex(g_m);
    return r;
}

/* What another thread gets from a zero-timeout wait on `m`. */
static DWORD other_thread_wait(HANDLE m)
{
    DWORD code = 0xffffffff;
    HANDLE t;
    g_m = m;
    t = CreateThread(NULL, 0, try_take, NULL, 0, NULL);
    CHECK(t != NULL);
    CHECK(WaitForSingleObject(t, 10000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code));
    CloseHandle(t);
    return code;
}

/* `m` is owned once by this thread: another thread cannot take it; one release frees it. */
static void owned_once(HANDLE m, int line)
{
    if (m == NULL) {
        printf("FAIL line %d: no handle (last error %u)\n", line, (unsigned)GetLastError());
        failures++;
        return;
    }
    CHECK(other_thread_wait(m) == WAIT_TIMEOUT);
    CHECK(ReleaseMutex(m));
    CHECK_ERR(!ReleaseMutex(m), ERROR_NOT_OWNER);
    CHECK(other_thread_wait(m) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);
    CHECK(ReleaseMutex(m));
    CHECK(CloseHandle(m));
}

int _tmain(void)
{
    TCHAR name[64], name2[64];
    HANDLE a, b;
    _stprintf(name, TEXT("Local\\initial_owner_%lu"), (unsigned long)GetCurrentProcessId());
    _stprintf(name2, TEXT("Local\\initial_owner_ex_%lu"), (unsigned long)GetCurrentProcessId());

    owned_once(CreateMutex(NULL, TRUE, NULL), __LINE__);
    owned_once(CreateMutex(NULL, TRUE, TEXT("")), __LINE__);
    owned_once(CreateMutexEx(NULL, NULL, CREATE_MUTEX_INITIAL_OWNER, MUTEX_ALL_ACCESS), __LINE__);
    owned_once(CreateMutexEx(NULL, name2, CREATE_MUTEX_INITIAL_OWNER, MUTEX_ALL_ACCESS), __LINE__);

    /* named: new and owned; then existing, where the initial owner is ignored */
    a = CreateMutex(NULL, TRUE, name);
    CHECK(a != NULL && GetLastError() == 0);
    b = CreateMutex(NULL, TRUE, name);
    CHECK(b != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK(ReleaseMutex(b)); /* one level, through the other handle */
    CHECK_ERR(!ReleaseMutex(a), ERROR_NOT_OWNER);
    b = CreateMutexEx(NULL, name, CREATE_MUTEX_INITIAL_OWNER, SYNCHRONIZE);
    CHECK(b != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK_ERR(!ReleaseMutex(b), ERROR_NOT_OWNER);
    CHECK(WaitForSingleObject(b, 0) == WAIT_OBJECT_0);
    CHECK(ReleaseMutex(b));
    CHECK(CloseHandle(a) && CloseHandle(b));

    /* not a flag CreateMutexEx knows */
    CHECK_ERR(CreateMutexEx(NULL, NULL, 2, MUTEX_ALL_ACCESS) == NULL, ERROR_INVALID_PARAMETER);

    if (failures == 0)
        printf("INITIAL OWNER OK\n");
    return failures != 0;
}
