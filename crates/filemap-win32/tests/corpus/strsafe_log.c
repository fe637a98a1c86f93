/* strsafe_log.c - a logging "server" and its clients: clients format lines with
 * StringCchPrintf / wsprintf into a shared log ring (guarded by a named mutex, announced by a
 * semaphore); the server prints them. Run "strsafe_log server" first, then clients. */
#include <windows.h>
#include <strsafe.h>
#include <stdio.h>
#include <tchar.h>

#define LINES 16
#define WIDTH 80

typedef struct {
    LONG head;
    LONG tail;
    TCHAR line[LINES][WIDTH];
} LogRing;

static LogRing *ring(void)
{
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(LogRing), TEXT("Local\\CorpusLog"));
    return map ? (LogRing *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
}

int _tmain(int argc, TCHAR *argv[])
{
    LogRing *log = ring();
    HANDLE lock = CreateMutex(NULL, FALSE, TEXT("Local\\CorpusLogLock"));
    HANDLE lines = CreateSemaphore(NULL, 0, LINES, TEXT("Local\\CorpusLogLines"));
    TCHAR text[WIDTH];
    int i, expected;

    if (argc > 1 && _tcscmp(argv[1], TEXT("server")) == 0) {
        expected = argc > 2 ? _ttoi(argv[2]) : 0;
        _tprintf(TEXT("log server: waiting for %d lines\n"), expected);
        for (i = 0; i < expected; i++) {
            if (WaitForSingleObject(lines, 30000) != WAIT_OBJECT_0)
                return 1;
            WaitForSingleObject(lock, INFINITE);
            StringCchCopy(text, WIDTH, log->line[log->tail % LINES]);
            log->tail++;
            ReleaseMutex(lock);
            _tprintf(TEXT("log: %s\n"), text);
        }
        return 0;
    }
    for (i = 1; i <= 3; i++) {
        HRESULT hr;
        if (i < 3)
            hr = StringCchPrintf(text, WIDTH, TEXT("client %s line %d"), argc > 1 ? argv[1] : TEXT("?"), i);
        else
            hr = wsprintf(text, TEXT("client %s done (%lu)"), argc > 1 ? argv[1] : TEXT("?"), 3UL) > 0 ? S_OK : E_FAIL;
        if (FAILED(hr))
            return 2;
        WaitForSingleObject(lock, INFINITE);
        StringCchCopy(log->line[log->head % LINES], WIDTH, text);
        log->head++;
        ReleaseMutex(lock);
        ReleaseSemaphore(lines, 1, NULL);
    }
    /* a line too long for the buffer is cut, and said so */
    if (StringCchCopy(text, 8, TEXT("0123456789")) == STRSAFE_E_INSUFFICIENT_BUFFER)
        _tprintf(TEXT("truncated to \"%s\"\n"), text);
    return 0;
}
