// semaphore_pool.cpp - a semaphore as a limit: at most two of five worker processes may use
// "the device" at a time; each records how many were inside, and the parent checks the peak.
#include <windows.h>
#include <tchar.h>
#include <iostream>
#include <vector>

struct Stats {
    volatile LONG inside;
    volatile LONG peak;
    volatile LONG served;
};

int _tmain(int argc, _TCHAR *argv[])
{
    HANDLE pool = CreateSemaphore(NULL, 2, 2, TEXT("Local\\CorpusPool"));
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Stats), TEXT("Local\\CorpusPoolStats"));
    Stats *s = (Stats *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (argc > 1) {
        for (int round = 0; round < 3; round++) {
            WaitForSingleObject(pool, INFINITE);
            LONG now = InterlockedIncrement(&s->inside);
            LONG peak = s->peak;
            while (now > peak && InterlockedCompareExchange(&s->peak, now, peak) != peak)
                peak = s->peak;
            Sleep(20);
            InterlockedDecrement(&s->inside);
            InterlockedIncrement(&s->served);
            ReleaseSemaphore(pool, 1, NULL);
        }
        return 0;
    }
    std::vector<HANDLE> procs;
    for (int i = 0; i < 5; i++) {
        STARTUPINFO si = {sizeof(si)};
        PROCESS_INFORMATION pi;
        TCHAR cmd[MAX_PATH + 16];
        _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" worker"), argv[0]);
        if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
            return 1;
        CloseHandle(pi.hThread);
        procs.push_back(pi.hProcess);
    }
    WaitForMultipleObjects((DWORD)procs.size(), procs.data(), TRUE, INFINITE);
    std::cout << "served " << s->served << " requests" << std::endl;
    std::cout << "peak inside: " << s->peak << (s->peak <= 2 ? " (within the limit)" : " (LIMIT BROKEN)") << std::endl;
    LONG previous = -1;
    ReleaseSemaphore(pool, 1, &previous);
    std::cout << "ReleaseSemaphore on a full pool: error " << GetLastError() << std::endl;
    for (HANDLE h : procs)
        CloseHandle(h);
    return 0;
}
