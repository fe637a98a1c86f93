/* Threads within a process, as Windows demos use them: CreateThread (also suspended), waits on
 * thread handles with other objects, exit codes, and mutex ownership by thread (a mutex whose
 * owner thread returns while holding it is abandoned). */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"


static HANDLE g_mutex, g_go, g_sem;
static volatile LONG g_counter = 0;

static DWORD WINAPI worker(LPVOID param)
{
    int i, n = (int)(INT_PTR)param;
    WaitForSingleObject(g_go, INFINITE);
    for (i = 0; i < n; i++) {
        WaitForSingleObject(g_mutex, INFINITE);
        g_counter++;
        ReleaseMutex(g_mutex);
    }
    ReleaseSemaphore(g_sem, 1, NULL);
    return (DWORD)n;
}

static DWORD WINAPI take_and_leave(LPVOID param)
{
    (void)param;
    return WaitForSingleObject(g_mutex, INFINITE); /* returns owning it */
}

static DWORD WINAPI try_release(LPVOID param)
{
    (void)param;
    SetLastError(0);
    if (ReleaseMutex(g_mutex))
        return 1;
    return GetLastError();
}

int _tmain(void)
{
    HANDLE threads[4], suspended;
    DWORD tid = 0, code, i;
    g_mutex = CreateMutex(NULL, FALSE, NULL);
    g_go = CreateEvent(NULL, TRUE, FALSE, NULL);
    g_sem = CreateSemaphore(NULL, 0, 4, NULL);
    CHECK(g_mutex && g_go && g_sem);
    for (i = 0; i < 4; i++) {
        threads[i] = CreateThread(NULL, 0, worker, (LPVOID)(INT_PTR)(1000 + i), 0, &tid);
        CHECK(threads[i] != NULL && tid != 0);
    }
    CHECK(GetExitCodeThread(threads[0], &code) && code == STILL_ACTIVE);
    CHECK(WaitForMultipleObjects(4, threads, FALSE, 50) == WAIT_TIMEOUT);
    CHECK(SetEvent(g_go));
    CHECK(WaitForMultipleObjects(4, threads, TRUE, 30000) == WAIT_OBJECT_0);
    CHECK(g_counter == 1000 + 1001 + 1002 + 1003);
    for (i = 0; i < 4; i++) {
        CHECK(GetExitCodeThread(threads[i], &code) && code == 1000 + i);
        CHECK(WaitForSingleObject(g_sem, 0) == WAIT_OBJECT_0);
        CHECK(CloseHandle(threads[i]));
    }

    /* suspended until resumed */
    g_counter = 0;
    suspended = CreateThread(NULL, 64 * 1024, worker, (LPVOID)(INT_PTR)5, CREATE_SUSPENDED, NULL);
    CHECK(suspended != NULL);
    CHECK(WaitForSingleObject(suspended, 100) == WAIT_TIMEOUT && g_counter == 0);
    CHECK(ResumeThread(suspended) == 1);
    CHECK(WaitForSingleObject(suspended, 30000) == WAIT_OBJECT_0 && g_counter == 5);
    CHECK(ResumeThread(suspended) == 0);
    CHECK(GetThreadId(suspended) != 0 && GetThreadId(suspended) != GetCurrentThreadId());
    CHECK(CloseHandle(suspended));

    /* ownership is per thread */
    CHECK(WaitForSingleObject(g_mutex, 0) == WAIT_OBJECT_0);
    threads[0] = CreateThread(NULL, 0, try_release, NULL, 0, NULL);
    CHECK(WaitForSingleObject(threads[0], 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(threads[0], &code) && code == ERROR_NOT_OWNER);
    CHECK(CloseHandle(threads[0]));
    CHECK(ReleaseMutex(g_mutex));
    /* a thread that returns owning the mutex abandons it */
    threads[0] = CreateThread(NULL, 0, take_and_leave, NULL, 0, NULL);
    CHECK(WaitForSingleObject(threads[0], 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(threads[0], &code) && code == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(g_mutex, 5000) == WAIT_ABANDONED);
    CHECK(ReleaseMutex(g_mutex));
    CHECK(CloseHandle(threads[0]));

    SetLastError(0);
    CHECK(CreateThread(NULL, 0, NULL, NULL, 0, NULL) == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(ResumeThread(g_mutex) == (DWORD)-1 && GetLastError() == ERROR_INVALID_HANDLE);
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("THREADS OK\n"));
    return 0;
}
