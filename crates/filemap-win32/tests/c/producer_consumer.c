/* A bounded buffer in named shared memory, the way courses teach it on Windows: the producer
 * creates the mapping, two counting semaphores (empty slots, full slots) and a mutex, starts
 * the consumer with CreateProcess, and both run until 500 items went through. The consumer
 * reports the sum of what it got as its exit code (mod 256) and in shared memory. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define SLOTS 8
#define ITEMS 500

typedef struct {
    LONG in, out;
    LONG items[SLOTS];
    LONG consumed;
    LONGLONG sum;
} SHARED;

static _TCHAR names[4][64];

static void make_names(const _TCHAR *tag)
{
    _stprintf(names[0], TEXT("Local\\PcBuffer_%s"), tag);
    _stprintf(names[1], TEXT("Local\\PcEmpty_%s"), tag);
    _stprintf(names[2], TEXT("Local\\PcFull_%s"), tag);
    _stprintf(names[3], TEXT("Local\\PcLock_%s"), tag);
}

static int consumer(void)
{
    HANDLE hMap, hEmpty, hFull, hLock;
    SHARED *buf;
    int i;

    hMap = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, names[0]);
    hEmpty = OpenSemaphore(SEMAPHORE_ALL_ACCESS, FALSE, names[1]);
    hFull = OpenSemaphore(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, names[2]);
    hLock = OpenMutex(SYNCHRONIZE, FALSE, names[3]);
    if (!hMap || !hEmpty || !hFull || !hLock) {
        _tprintf(TEXT("consumer: open failed (%u)\n"), (unsigned)GetLastError());
        return 1;
    }
    buf = (SHARED *)MapViewOfFile(hMap, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(SHARED));
    if (!buf)
        return 2;
    for (i = 0; i < ITEMS; i++) {
        LONG v;
        if (WaitForSingleObject(hFull, 20000) != WAIT_OBJECT_0)
            return 3;
        if (WaitForSingleObject(hLock, 20000) != WAIT_OBJECT_0)
            return 4;
        v = buf->items[buf->out];
        buf->out = (buf->out + 1) % SLOTS;
        buf->sum += v;
        buf->consumed++;
        if (!ReleaseMutex(hLock))
            return 5;
        if (!ReleaseSemaphore(hEmpty, 1, NULL))
            return 6;
    }
    UnmapViewOfFile(buf);
    CloseHandle(hMap);
    CloseHandle(hEmpty);
    CloseHandle(hFull);
    CloseHandle(hLock);
    return 42;
}

int _tmain(int argc, _TCHAR *argv[])
{
    HANDLE hMap, hEmpty, hFull, hLock, waits[2];
    SHARED *buf;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    _TCHAR cmd[512], tag[32];
    DWORD code;
    LONGLONG expected = 0;
    int i;

    if (argc == 3 && _tcscmp(argv[1], TEXT("consumer")) == 0) {
        make_names(argv[2]);
        return consumer();
    }
    _stprintf(tag, TEXT("%u"), (unsigned)GetCurrentProcessId());
    make_names(tag);
    hMap = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(SHARED), names[0]);
    hEmpty = CreateSemaphore(NULL, SLOTS, SLOTS, names[1]);
    hFull = CreateSemaphore(NULL, 0, SLOTS, names[2]);
    hLock = CreateMutex(NULL, FALSE, names[3]);
    if (!hMap || !hEmpty || !hFull || !hLock) {
        _tprintf(TEXT("create failed (%u)\n"), (unsigned)GetLastError());
        return 1;
    }
    buf = (SHARED *)MapViewOfFile(hMap, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(SHARED));

    ZeroMemory(&si, sizeof(si));
    si.cb = sizeof(si);
    ZeroMemory(&pi, sizeof(pi));
    _stprintf(cmd, TEXT("\"%s\" consumer %s"), argv[0], tag);
    if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        _tprintf(TEXT("CreateProcess failed (%u).\n"), (unsigned)GetLastError());
        return 1;
    }

    for (i = 1; i <= ITEMS; i++) {
        /* wait for an empty slot, but give up if the consumer died */
        waits[0] = hEmpty;
        waits[1] = pi.hProcess;
        if (WaitForMultipleObjects(2, waits, FALSE, 20000) != WAIT_OBJECT_0) {
            _tprintf(TEXT("producer: consumer gone or stuck\n"));
            return 1;
        }
        WaitForSingleObject(hLock, INFINITE);
        buf->items[buf->in] = i;
        buf->in = (buf->in + 1) % SLOTS;
        expected += i;
        ReleaseMutex(hLock);
        ReleaseSemaphore(hFull, 1, NULL);
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    _tprintf(TEXT("consumer exit %u, consumed %d, sum %lld (expected %lld)\n"), (unsigned)code, (int)buf->consumed,
             (long long)buf->sum, (long long)expected);
    if (code != 42 || buf->consumed != ITEMS || buf->sum != expected)
        return 1;
    /* the semaphores are back where they started */
    {
        LONG prev = -1;
        if (ReleaseSemaphore(hEmpty, 1, &prev) || GetLastError() != ERROR_TOO_MANY_POSTS || prev != -1)
            return 2;
        if (WaitForSingleObject(hFull, 0) != WAIT_TIMEOUT)
            return 3;
    }
    UnmapViewOfFile(buf);
    CloseHandle(hMap);
    CloseHandle(hEmpty);
    CloseHandle(hFull);
    CloseHandle(hLock);
    _tprintf(TEXT("PRODUCER OK\n"));
    return 0;
}
