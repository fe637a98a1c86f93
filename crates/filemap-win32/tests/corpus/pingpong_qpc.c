/* pingpong_qpc.c - measures a cross-process round trip with QueryPerformanceCounter, as the
 * benchmark snippets in forum answers do: the parent starts a partner with CreateProcess and
 * they bounce two auto-reset events 1000 times. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define ROUNDS 1000

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE ping = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusPing"));
    HANDLE pong = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusPong"));
    LARGE_INTEGER freq, start, end;
    STARTUPINFO si = {sizeof(si)};
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    double us;
    int i;

    if (argc > 1) {
        for (i = 0; i < ROUNDS; i++) {
            WaitForSingleObject(ping, INFINITE);
            SetEvent(pong);
        }
        return 0;
    }
    _stprintf_s(cmd, MAX_PATH + 16, TEXT("\"%s\" partner"), argv[0]);
    if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        _tprintf(TEXT("CreateProcess failed: %u\n"), GetLastError());
        return 1;
    }
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&start);
    for (i = 0; i < ROUNDS; i++) {
        SetEvent(ping);
        WaitForSingleObject(pong, INFINITE);
    }
    QueryPerformanceCounter(&end);
    us = (double)(end.QuadPart - start.QuadPart) * 1000000.0 / (double)freq.QuadPart;
    WaitForSingleObject(pi.hProcess, INFINITE);
    _tprintf(TEXT("Frequency: %lld ticks per second\n"), freq.QuadPart);
    _tprintf(TEXT("Round trips: %d\n"), ROUNDS);
    _tprintf(TEXT("Average round trip: %.2f us\n"), us / ROUNDS);
    _tprintf(TEXT("Elapsed ticks positive: %s\n"), end.QuadPart > start.QuadPart ? TEXT("yes") : TEXT("no"));
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
