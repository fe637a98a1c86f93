/* inherit_handle.c - the "pass the handle on the command line" technique: an unnamed mapping
 * and an unnamed event created inheritable, their values printed into the child's command
 * line, the child started with bInheritHandles = TRUE. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <tchar.h>

int _tmain(int argc, TCHAR *argv[])
{
    SECURITY_ATTRIBUTES sa = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};
    HANDLE hMap, hEvent;
    char *view;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmdline[512];

    if (argc == 4) { /* child: <exe> child <map> <event> */
        hMap = (HANDLE)(ULONG_PTR)_tcstoui64(argv[2], NULL, 10);
        hEvent = (HANDLE)(ULONG_PTR)_tcstoui64(argv[3], NULL, 10);
        view = (char *)MapViewOfFile(hMap, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        if (view == NULL) {
            printf("child: MapViewOfFile failed (%lu)\n", GetLastError());
            return 1;
        }
        printf("child: parent says \"%s\"\n", view);
        strcpy(view, "child was here");
        SetEvent(hEvent);
        return 0;
    }

    hMap = CreateFileMapping(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, NULL);
    hEvent = CreateEvent(&sa, TRUE, FALSE, NULL);
    view = (char *)MapViewOfFile(hMap, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    strcpy(view, "hello through an inherited handle");

    ZeroMemory(&si, sizeof(si));
    si.cb = sizeof(si);
    _stprintf(cmdline, _T("\"%s\" child %llu %llu"), argv[0], (unsigned long long)(ULONG_PTR)hMap,
              (unsigned long long)(ULONG_PTR)hEvent);
    if (!CreateProcess(NULL, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        printf("CreateProcess failed (%lu)\n", GetLastError());
        return 1;
    }
    fflush(stdout);
    WaitForSingleObject(hEvent, INFINITE);
    WaitForSingleObject(pi.hProcess, INFINITE);
    printf("parent: child wrote \"%s\"\n", view);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    UnmapViewOfFile(view);
    CloseHandle(hMap);
    CloseHandle(hEvent);
    return 0;
}
