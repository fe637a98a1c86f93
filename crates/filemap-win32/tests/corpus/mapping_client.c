// mapping_client.c - the second process of the tutorial: opens the named mapping, waits for
// the server's event, shows the message and answers in the same view.
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#pragma comment(lib, "user32.lib")

#define BUF_SIZE 256
TCHAR szName[] = TEXT("Local\\CorpusFileMappingObject");

int _tmain()
{
    HANDLE hMapFile, hReady, hDone;
    LPTSTR pBuf;

    hMapFile = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, szName);
    if (hMapFile == NULL) {
        _tprintf(TEXT("Could not open file mapping object (%d).\n"), GetLastError());
        return 1;
    }
    pBuf = (LPTSTR)MapViewOfFile(hMapFile, FILE_MAP_ALL_ACCESS, 0, 0, BUF_SIZE);
    if (pBuf == NULL) {
        _tprintf(TEXT("Could not map view of file (%d).\n"), GetLastError());
        CloseHandle(hMapFile);
        return 1;
    }
    hReady = OpenEvent(SYNCHRONIZE, FALSE, TEXT("Local\\CorpusMessageReady"));
    hDone = OpenEvent(EVENT_MODIFY_STATE, FALSE, TEXT("Local\\CorpusMessageRead"));
    if (hReady == NULL || hDone == NULL) {
        _tprintf(TEXT("Could not open the events (%d).\n"), GetLastError());
        return 1;
    }
    WaitForSingleObject(hReady, INFINITE);
    MessageBox(NULL, pBuf, TEXT("Process2"), MB_OK);
    lstrcpy(pBuf + 64, TEXT("thanks"));
    SetEvent(hDone);

    UnmapViewOfFile(pBuf);
    CloseHandle(hMapFile);
    CloseHandle(hReady);
    CloseHandle(hDone);
    return 0;
}
