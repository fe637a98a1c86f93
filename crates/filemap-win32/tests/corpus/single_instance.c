/* single_instance.c - "allow only one instance": a named mutex; the second copy sees
 * ERROR_ALREADY_EXISTS, tells the first one through a named event and exits. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

int _tmain(void)
{
    HANDLE hMutex = CreateMutex(NULL, TRUE, TEXT("Local\\CorpusSingleInstance"));
    HANDLE hWake = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusWakeFirst"));
    if (hMutex == NULL)
        return 1;
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        _tprintf(TEXT("Another instance is already running.\n"));
        SetEvent(hWake);
        CloseHandle(hMutex);
        return 0;
    }
    _tprintf(TEXT("First instance running.\n"));
    if (WaitForSingleObject(hWake, 30000) == WAIT_OBJECT_0)
        _tprintf(TEXT("A second instance tried to start.\n"));
    ReleaseMutex(hMutex);
    CloseHandle(hMutex);
    return 0;
}
