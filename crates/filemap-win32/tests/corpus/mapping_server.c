// mapping_server.c - "Creating Named Shared Memory", the way the tutorials write the first
// process: TCHAR names, a message in the view, an event to say it is there, and a second
// event the client sets when it has read it.
#include <windows.h>
#include <stdio.h>
#include <conio.h>
#include <tchar.h>

#define BUF_SIZE 256
TCHAR szName[] = TEXT("Local\\CorpusFileMappingObject");
TCHAR szMsg[] = TEXT("Message from first process.");

int _tmain()
{
    HANDLE hMapFile, hReady, hDone;
    LPCTSTR pBuf;

    hMapFile = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, BUF_SIZE, szName);
    if (hMapFile == NULL) {
        _tprintf(TEXT("Could not create file mapping object (%d).\n"), GetLastError());
        return 1;
    }
    pBuf = (LPTSTR)MapViewOfFile(hMapFile, FILE_MAP_ALL_ACCESS, 0, 0, BUF_SIZE);
    if (pBuf == NULL) {
        _tprintf(TEXT("Could not map view of file (%d).\n"), GetLastError());
        CloseHandle(hMapFile);
        return 1;
    }
    hReady = CreateEvent(NULL, TRUE, FALSE, TEXT("Local\\CorpusMessageReady"));
    hDone = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusMessageRead"));

    CopyMemory((PVOID)pBuf, szMsg, (_tcslen(szMsg) * sizeof(TCHAR)));
    SetEvent(hReady);
    _tprintf(TEXT("Server ready: wrote %d characters\n"), (int)_tcslen(szMsg));

    if (WaitForSingleObject(hDone, 30000) != WAIT_OBJECT_0) {
        _tprintf(TEXT("Timed out waiting for the client\n"));
        return 1;
    }
    _tprintf(TEXT("Client has read the message: %s\n"), pBuf + 64);

    UnmapViewOfFile(pBuf);
    CloseHandle(hMapFile);
    CloseHandle(hReady);
    CloseHandle(hDone);
    return 0;
}
