/* thread_watchdog.c - threads ended from outside and from inside: a runaway worker spins until
 * a watchdog process (started with CreateProcess) fires a named event, then the main thread
 * kills it with TerminateThread; a second worker lowers its priority and leaves with
 * ExitThread before its routine returns. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

static volatile LONG spins = 0;

static DWORD WINAPI Runaway(LPVOID p)
{
    (void)p;
    for (;;) {
        InterlockedIncrement(&spins);
        Sleep(1);
    }
}

static DWORD WINAPI Polite(LPVOID p)
{
    (void)p;
    SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_LOWEST);
    if (GetThreadPriority(GetCurrentThread()) == THREAD_PRIORITY_LOWEST)
        ExitThread(3);
    return 4; /* not reached */
}

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE alarm = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusWatchdog"));
    HANDLE runaway, polite;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    DWORD code;
    LONG before;

    if (argc > 1) { /* the watchdog */
        Sleep(200);
        SetEvent(alarm);
        return 0;
    }
    runaway = CreateThread(NULL, 0, Runaway, NULL, 0, NULL);
    polite = CreateThread(NULL, 0, Polite, NULL, 0, NULL);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" watchdog"), argv[0]);
    CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);

    WaitForSingleObject(alarm, INFINITE);
    _tprintf(TEXT("watchdog fired; runaway still running: %s\n"),
             GetExitCodeThread(runaway, &code) && code == STILL_ACTIVE ? TEXT("yes") : TEXT("no"));
    TerminateThread(runaway, 0xDEAD);
    WaitForSingleObject(runaway, INFINITE);
    GetExitCodeThread(runaway, &code);
    _tprintf(TEXT("runaway exit code: 0x%lX\n"), code);
    before = spins;
    Sleep(50);
    _tprintf(TEXT("runaway stopped: %s\n"), spins == before ? TEXT("yes") : TEXT("no"));
    WaitForSingleObject(polite, INFINITE);
    GetExitCodeThread(polite, &code);
    _tprintf(TEXT("polite exit code: %lu\n"), code);
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(runaway);
    CloseHandle(polite);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
