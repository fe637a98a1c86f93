/* The wait functions' fast paths (probes read before any claim or system call) keep Windows'
 * semantics: the lowest signaled index wins and only it is consumed, a mutex this thread owns
 * is taken again (recursion) while one another thread owns is not, a handle without SYNCHRONIZE
 * or an invalid one fails the whole wait without consuming anything, and wait-all takes all or
 * nothing. Also SetEvent / ReleaseSemaphore / ReleaseMutex on their one-CAS paths. */
#include <windows.h>
#include <stdio.h>
#include "check.h"

static HANDLE owned_elsewhere, taken, release_it;

static DWORD WINAPI hold_mutex(LPVOID arg)
{
    (void)arg;
    CHECK(WaitForSingleObject(owned_elsewhere, 0) == WAIT_OBJECT_0);
    CHECK(SetEvent(taken));
    CHECK(WaitForSingleObject(release_it, 10000) == WAIT_OBJECT_0);
    CHECK(ReleaseMutex(owned_elsewhere));
    return 0;
}

int main(void)
{
    char n[128];
    HANDLE ev[64];
    for (int i = 0; i < 64; i++) {
        ev[i] = CreateEventA(NULL, FALSE, FALSE, NULL); /* auto-reset */
        CHECK(ev[i] != NULL);
    }

    /* Only the last one set: found, consumed. */
    CHECK(WaitForMultipleObjects(64, ev, FALSE, 0) == WAIT_TIMEOUT);
    CHECK(SetEvent(ev[63]));
    CHECK(WaitForMultipleObjects(64, ev, FALSE, 0) == WAIT_OBJECT_0 + 63);
    CHECK(WaitForMultipleObjects(64, ev, FALSE, 0) == WAIT_TIMEOUT);

    /* The lowest index wins; the others stay signaled. */
    CHECK(SetEvent(ev[40]));
    CHECK(SetEvent(ev[5]));
    CHECK(WaitForMultipleObjects(64, ev, FALSE, INFINITE) == WAIT_OBJECT_0 + 5);
    CHECK(WaitForMultipleObjects(64, ev, FALSE, INFINITE) == WAIT_OBJECT_0 + 40);
    CHECK(WaitForMultipleObjects(64, ev, FALSE, 0) == WAIT_TIMEOUT);

    /* A semaphore among events gives one unit per wait. */
    HANDLE mix[3];
    mix[0] = ev[0];
    mix[1] = CreateSemaphoreA(NULL, 2, 5, NULL);
    mix[2] = ev[2];
    CHECK(mix[1] != NULL);
    CHECK(SetEvent(ev[2]));
    CHECK(WaitForMultipleObjects(3, mix, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(WaitForMultipleObjects(3, mix, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(WaitForMultipleObjects(3, mix, FALSE, 0) == WAIT_OBJECT_0 + 2);
    CHECK(WaitForMultipleObjects(3, mix, FALSE, 0) == WAIT_TIMEOUT);
    LONG prev = -1;
    CHECK(ReleaseSemaphore(mix[1], 5, &prev) && prev == 0);
    prev = -7;
    CHECK_ERR(!ReleaseSemaphore(mix[1], 1, &prev), ERROR_TOO_MANY_POSTS);
    CHECK(prev == -7); /* not written on failure */
    CHECK_ERR(!ReleaseSemaphore(mix[1], 0, NULL), ERROR_INVALID_PARAMETER);
    for (int i = 0; i < 5; i++)
        CHECK(WaitForSingleObject(mix[1], 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(mix[1], 0) == WAIT_TIMEOUT);

    /* A mutex this thread owns is taken again (recursion), one another thread owns is not. */
    HANDLE m = CreateMutexA(NULL, TRUE, NULL);
    CHECK(m != NULL);
    HANDLE with_mutex[2] = {ev[0], m};
    CHECK(WaitForMultipleObjects(2, with_mutex, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(ReleaseMutex(m));
    CHECK(ReleaseMutex(m));
    CHECK_ERR(!ReleaseMutex(m), ERROR_NOT_OWNER);
    owned_elsewhere = CreateMutexA(NULL, FALSE, NULL);
    taken = CreateEventA(NULL, TRUE, FALSE, NULL);
    release_it = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE t = CreateThread(NULL, 0, hold_mutex, NULL, 0, NULL);
    CHECK(t != NULL);
    CHECK(WaitForSingleObject(taken, 10000) == WAIT_OBJECT_0);
    HANDLE other[2] = {owned_elsewhere, ev[1]};
    CHECK(WaitForMultipleObjects(2, other, FALSE, 0) == WAIT_TIMEOUT);
    CHECK(SetEvent(ev[1]));
    CHECK(WaitForMultipleObjects(2, other, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(SetEvent(release_it));
    CHECK(WaitForSingleObject(t, 10000) == WAIT_OBJECT_0);
    CHECK(WaitForMultipleObjects(2, other, FALSE, 0) == WAIT_OBJECT_0); /* free now: ours */
    CHECK(ReleaseMutex(owned_elsewhere));

    /* A handle without SYNCHRONIZE fails the wait; nothing is consumed. */
    snprintf(n, sizeof n, "Local\\wait_fast_paths_%lu", (unsigned long)GetCurrentProcessId());
    HANDLE named = CreateEventA(NULL, TRUE, FALSE, n);
    HANDLE modify_only = OpenEventA(EVENT_MODIFY_STATE, FALSE, n);
    CHECK(named != NULL && modify_only != NULL);
    CHECK(SetEvent(ev[3]));
    HANDLE denied[2] = {ev[3], modify_only};
    CHECK_ERR(WaitForMultipleObjects(2, denied, FALSE, 0) == WAIT_FAILED, ERROR_ACCESS_DENIED);
    CHECK_ERR(WaitForSingleObject(modify_only, 0) == WAIT_FAILED, ERROR_ACCESS_DENIED);
    CHECK(SetEvent(modify_only)); /* what it may do */
    CHECK(WaitForSingleObject(named, 0) == WAIT_OBJECT_0);

    /* Invalid and pseudo-handles fail it too, before anything is consumed. */
    HANDLE closed = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK(CloseHandle(closed));
    HANDLE invalid[2] = {ev[3], closed};
    CHECK_ERR(WaitForMultipleObjects(2, invalid, FALSE, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    HANDLE pseudo[2] = {ev[3], GetCurrentProcess()};
    CHECK_ERR(WaitForMultipleObjects(2, pseudo, FALSE, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    HANDLE null_h[2] = {ev[3], NULL};
    CHECK_ERR(WaitForMultipleObjects(2, null_h, FALSE, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK(WaitForSingleObject(ev[3], 0) == WAIT_OBJECT_0); /* still signaled until now */

    /* Wait-all: nothing consumed unless everything is signaled. */
    HANDLE all[3] = {ev[10], ev[11], mix[1]};
    CHECK(SetEvent(ev[10]));
    CHECK(ReleaseSemaphore(mix[1], 1, NULL));
    CHECK(WaitForMultipleObjects(3, all, TRUE, 0) == WAIT_TIMEOUT);
    CHECK(SetEvent(ev[11]));
    CHECK(WaitForMultipleObjects(3, all, TRUE, 0) == WAIT_OBJECT_0);
    CHECK(WaitForMultipleObjects(3, all, FALSE, 0) == WAIT_TIMEOUT);

    /* Success leaves the last error alone. */
    SetLastError(1234);
    CHECK(SetEvent(ev[7]));
    CHECK(WaitForMultipleObjects(64, ev, FALSE, 0) == WAIT_OBJECT_0 + 7);
    CHECK(ReleaseSemaphore(mix[1], 1, NULL));
    CHECK(WaitForSingleObject(mix[1], 0) == WAIT_OBJECT_0);
    CHECK(GetLastError() == 1234);

    if (failures == 0)
        printf("WAIT FAST OK\n");
    return failures != 0;
}
