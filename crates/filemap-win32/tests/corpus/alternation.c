/* alternation.c - the "two processes take turns" demo many tutorials show: each process loops
 * { WaitForSingleObject(mutex); print; ReleaseMutex; } and, because Windows hands a released
 * mutex to the thread already waiting for it, the turns alternate strictly. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE mutex = CreateMutex(NULL, FALSE, TEXT("Local\\CorpusTurns"));
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, TEXT("Local\\CorpusTurnLog"));
    char *log = (char *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    HANDLE both = CreateSemaphore(NULL, 0, 2, TEXT("Local\\CorpusTurnStart"));
    char me = argc > 1 ? 'B' : 'A';
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    int i;

    if (me == 'A') {
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" B"), argv[0]);
        CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
        WaitForSingleObject(mutex, INFINITE); /* A goes first */
        ReleaseSemaphore(both, 1, NULL);      /* let B start waiting */
        Sleep(100);
        for (i = 0; i < 10; i++) {
            log[strlen(log)] = me;
            ReleaseMutex(mutex);
            WaitForSingleObject(mutex, INFINITE);
        }
        ReleaseMutex(mutex);
        WaitForSingleObject(pi.hProcess, INFINITE);
        printf("turns: %s\n", log);
        return 0;
    }
    WaitForSingleObject(both, INFINITE);
    for (i = 0; i < 10; i++) {
        WaitForSingleObject(mutex, INFINITE);
        log[strlen(log)] = me;
        ReleaseMutex(mutex);
    }
    return 0;
}
