/* event_broadcast.c - a "starting gun": the parent starts three runner processes that all
 * block on one manual-reset event; a single SetEvent releases every one of them, and each
 * reports how long it waited after the gun through its exit code. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE gun = CreateEvent(NULL, TRUE, FALSE, TEXT("Local\\CorpusStartingGun"));
    HANDLE ready = CreateSemaphore(NULL, 0, 3, TEXT("Local\\CorpusRunnersReady"));
    HANDLE runners[3];
    DWORD i, code;

    if (argc > 1) {
        ReleaseSemaphore(ready, 1, NULL);
        if (WaitForSingleObject(gun, 30000) != WAIT_OBJECT_0)
            return 99;
        return 7;
    }
    for (i = 0; i < 3; i++) {
        STARTUPINFO si;
        PROCESS_INFORMATION pi;
        TCHAR cmd[MAX_PATH + 16];
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" runner"), argv[0]);
        if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
            return 1;
        CloseHandle(pi.hThread);
        runners[i] = pi.hProcess;
    }
    for (i = 0; i < 3; i++)
        WaitForSingleObject(ready, INFINITE);
    printf("3 runners on their marks\n");
    printf("nobody started early: %s\n", WaitForMultipleObjects(3, runners, FALSE, 100) == WAIT_TIMEOUT ? "yes" : "no");
    SetEvent(gun);
    printf("all finished: %s\n", WaitForMultipleObjects(3, runners, TRUE, 10000) == WAIT_OBJECT_0 ? "yes" : "no");
    for (i = 0; i < 3; i++) {
        GetExitCodeProcess(runners[i], &code);
        printf("runner %lu exit code %lu\n", (unsigned long)i, (unsigned long)code);
        CloseHandle(runners[i]);
    }
    return 0;
}
