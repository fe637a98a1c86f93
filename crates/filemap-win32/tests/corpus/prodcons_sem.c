/* prodcons_sem.c - the bounded-buffer producer/consumer of the OS textbooks across two
 * processes: the producer starts the consumer with CreateProcess, a named mapping holds the
 * ring, "empty" and "full" semaphores count the slots, a mutex guards the indices. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define SLOTS 8
#define ITEMS 200

typedef struct {
    int buffer[SLOTS];
    int in, out;
    long long sum;
} Ring;

static Ring *open_ring(BOOL create)
{
    HANDLE h = create ? CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Ring), _T("Local\\CorpusRing"))
                      : OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, _T("Local\\CorpusRing"));
    if (!h) {
        _tprintf(_T("mapping failed: %lu\n"), GetLastError());
        ExitProcess(1);
    }
    return (Ring *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(Ring));
}

static int consumer(void)
{
    Ring *r = open_ring(FALSE);
    HANDLE empty = OpenSemaphore(SEMAPHORE_ALL_ACCESS, FALSE, _T("Local\\CorpusEmpty"));
    HANDLE full = OpenSemaphore(SEMAPHORE_ALL_ACCESS, FALSE, _T("Local\\CorpusFull"));
    HANDLE mutex = OpenMutex(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, _T("Local\\CorpusRingLock"));
    int i, item;
    for (i = 0; i < ITEMS; i++) {
        WaitForSingleObject(full, INFINITE);
        WaitForSingleObject(mutex, INFINITE);
        item = r->buffer[r->out];
        r->out = (r->out + 1) % SLOTS;
        r->sum += item;
        ReleaseMutex(mutex);
        ReleaseSemaphore(empty, 1, NULL);
    }
    _tprintf(_T("consumer: got %d items, sum %lld\n"), ITEMS, r->sum);
    return 0;
}

int _tmain(int argc, TCHAR *argv[])
{
    Ring *r;
    HANDLE empty, full, mutex;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 20];
    int i;
    LONG previous;
    DWORD code;

    if (argc > 1 && _tcscmp(argv[1], _T("consumer")) == 0)
        return consumer();

    r = open_ring(TRUE);
    empty = CreateSemaphore(NULL, SLOTS, SLOTS, _T("Local\\CorpusEmpty"));
    full = CreateSemaphore(NULL, 0, SLOTS, _T("Local\\CorpusFull"));
    mutex = CreateMutex(NULL, FALSE, _T("Local\\CorpusRingLock"));

    ZeroMemory(&si, sizeof(si));
    si.cb = sizeof(si);
    _stprintf_s(cmd, _countof(cmd), _T("\"%s\" consumer"), argv[0]);
    if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        _tprintf(_T("CreateProcess failed (%lu)\n"), GetLastError());
        return 1;
    }
    for (i = 1; i <= ITEMS; i++) {
        WaitForSingleObject(empty, INFINITE);
        WaitForSingleObject(mutex, INFINITE);
        r->buffer[r->in] = i;
        r->in = (r->in + 1) % SLOTS;
        ReleaseMutex(mutex);
        ReleaseSemaphore(full, 1, NULL);
    }
    _tprintf(_T("producer: sent %d items\n"), ITEMS);
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    /* every slot is free again */
    if (!ReleaseSemaphore(empty, 1, &previous) && GetLastError() == ERROR_TOO_MANY_POSTS)
        _tprintf(_T("producer: all %d slots free, consumer exit code %lu\n"), SLOTS, code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
