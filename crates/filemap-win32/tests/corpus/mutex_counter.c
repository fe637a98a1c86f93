/* mutex_counter.c - three processes increment one shared counter 2000 times each under a
 * named mutex (the classic "no lost updates" demo); the first one starts the other two. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define PER_PROCESS 2000

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE mutex = CreateMutex(NULL, FALSE, TEXT("Local\\CorpusCounterLock"));
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(LONG), TEXT("Local\\CorpusCounter"));
    volatile LONG *counter = (volatile LONG *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    PROCESS_INFORMATION pi[2];
    HANDLE procs[2];
    int i, n;

    if (argc == 1) {
        for (n = 0; n < 2; n++) {
            STARTUPINFO si;
            TCHAR cmd[MAX_PATH + 16];
            ZeroMemory(&si, sizeof si);
            si.cb = sizeof si;
            _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" helper"), argv[0]);
            if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi[n]))
                return 1;
            procs[n] = pi[n].hProcess;
        }
    }
    for (i = 0; i < PER_PROCESS; i++) {
        DWORD r = WaitForSingleObject(mutex, INFINITE);
        if (r != WAIT_OBJECT_0 && r != WAIT_ABANDONED)
            return 2;
        *counter = *counter + 1;
        ReleaseMutex(mutex);
    }
    if (argc == 1) {
        WaitForMultipleObjects(2, procs, TRUE, INFINITE);
        _tprintf(TEXT("counter = %ld (expected %d)\n"), *counter, 3 * PER_PROCESS);
    }
    return 0;
}
