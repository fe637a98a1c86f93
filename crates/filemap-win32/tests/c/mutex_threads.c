/* In the style of the Windows documentation's mutex sample: worker threads take turns on a
 * "database" guarded by an unnamed mutex, with __try/__finally releasing it and a switch on
 * the wait result. */
#include <windows.h>
#include <stdio.h>

#define THREADCOUNT 4

HANDLE ghMutex;
static volatile LONG gWrites = 0;

DWORD WINAPI WriteToDatabase(LPVOID lpParam)
{
    DWORD dwCount = 0, dwWaitResult;
    UNREFERENCED_PARAMETER(lpParam);
    while (dwCount < 20) {
        dwWaitResult = WaitForSingleObject(ghMutex, INFINITE);
        switch (dwWaitResult) {
        case WAIT_OBJECT_0:
            __try {
                LONG before = gWrites;
                Sleep(0);
                gWrites = before + 1; /* not atomic: only safe under the mutex */
                dwCount++;
            }
            __finally {
                if (!ReleaseMutex(ghMutex)) {
                    printf("ReleaseMutex error: %u\n", (unsigned)GetLastError());
                }
            }
            break;
        case WAIT_ABANDONED:
            return FALSE;
        }
    }
    return TRUE;
}

int main(void)
{
    HANDLE aThread[THREADCOUNT];
    DWORD ThreadID, code;
    int i;

    ghMutex = CreateMutex(NULL, FALSE, NULL);
    if (ghMutex == NULL) {
        printf("CreateMutex error: %u\n", (unsigned)GetLastError());
        return 1;
    }
    for (i = 0; i < THREADCOUNT; i++) {
        aThread[i] = CreateThread(NULL, 0, (LPTHREAD_START_ROUTINE)WriteToDatabase, NULL, 0, &ThreadID);
        if (aThread[i] == NULL) {
            printf("CreateThread error: %u\n", (unsigned)GetLastError());
            return 1;
        }
    }
    WaitForMultipleObjects(THREADCOUNT, aThread, TRUE, INFINITE);
    for (i = 0; i < THREADCOUNT; i++) {
        if (!GetExitCodeThread(aThread[i], &code) || code != TRUE)
            return 1;
        CloseHandle(aThread[i]);
    }
    CloseHandle(ghMutex);
    __try {
        printf("writes: %ld\n", (long)gWrites);
    }
    __except (EXCEPTION_EXECUTE_HANDLER) {
        printf("never\n");
    }
    return gWrites == THREADCOUNT * 20 ? 0 : 1;
}
