/* timer_apc.c - Microsoft's "Using a Waitable Timer with an Asynchronous Procedure Call"
 * sample, grown into two processes: the first arms a named periodic timer with a completion
 * routine and sleeps alertably for four calls; a second process (started with CreateProcess)
 * opens the same timer by name and counts its expiries by waiting on it. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define _SECOND 10000000

typedef struct _MYDATA {
    LPCTSTR szText;
    DWORD dwValue;
} MYDATA;

static VOID CALLBACK TimerAPCProc(LPVOID lpArg, DWORD dwTimerLowValue, DWORD dwTimerHighValue)
{
    MYDATA *pMyData = (MYDATA *)lpArg;
    FILETIME ft;
    (void)dwTimerLowValue;
    ft.dwLowDateTime = dwTimerLowValue;
    ft.dwHighDateTime = dwTimerHighValue;
    _tprintf(TEXT("Message: %s\nValue: %d\nTime set: %s\n\n"), pMyData->szText, pMyData->dwValue,
             ft.dwHighDateTime ? TEXT("yes") : TEXT("no"));
    MessageBeep(0);
}

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE hTimer;
    BOOL bSuccess;
    __int64 qwDueTime;
    LARGE_INTEGER liDueTime;
    MYDATA MyData;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    int fired = 0;

    if (argc > 1) { /* the watcher */
        HANDLE t = OpenWaitableTimer(SYNCHRONIZE, FALSE, TEXT("Local\\CorpusTimer"));
        if (!t)
            return 2;
        while (fired < 2 && WaitForSingleObject(t, 5000) == WAIT_OBJECT_0)
            fired++;
        _tprintf(TEXT("watcher: saw the timer fire %d times\n"), fired);
        return 0;
    }

    MyData.szText = TEXT("This is my data");
    MyData.dwValue = 100;

    hTimer = CreateWaitableTimer(NULL, TRUE, TEXT("Local\\CorpusTimer"));
    if (!hTimer) {
        printf("CreateWaitableTimer failed with error %lu\n", GetLastError());
        return 1;
    }
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" watch"), argv[0]);
    CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);

    /* Create an integer that will be used to signal the timer 1/10 second from now. */
    qwDueTime = -1 * (_SECOND / 10);
    liDueTime.LowPart = (DWORD)(qwDueTime & 0xFFFFFFFF);
    liDueTime.HighPart = (LONG)(qwDueTime >> 32);

    bSuccess = SetWaitableTimer(hTimer, &liDueTime, 100, TimerAPCProc, &MyData, FALSE);
    if (bSuccess) {
        for (; MyData.dwValue < 1000; MyData.dwValue += 100) {
            SleepEx(INFINITE, TRUE);
        }
    } else {
        printf("SetWaitableTimer failed with error %lu\n", GetLastError());
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    CancelWaitableTimer(hTimer);
    CloseHandle(hTimer);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
