// apc_worker.cpp - a worker thread that sleeps alertably and gets its jobs as APCs, the
// pattern of "QueueUserAPC" articles; the jobs come from another process: a feeder (this
// program started with CreateProcess) writes numbers into shared memory and sets an event.
#include <windows.h>
#include <tchar.h>
#include <cstdio>
#include <iostream>

struct Jobs {
    LONG count;
    LONG values[16];
};

static LONG total = 0;
static LONG jobs_run = 0;
static bool quit = false;

static void CALLBACK RunJob(ULONG_PTR value)
{
    total += (LONG)value;
    jobs_run++;
    std::cout << "worker: job " << jobs_run << " adds " << (LONG)value << std::endl;
}

static void CALLBACK Quit(ULONG_PTR)
{
    quit = true;
}

static DWORD WINAPI Worker(LPVOID)
{
    DWORD wakeups = 0;
    while (!quit) {
        if (SleepEx(INFINITE, TRUE) == WAIT_IO_COMPLETION)
            wakeups++;
    }
    std::cout << "worker: stopping, " << (wakeups > 0 ? "woken by APCs" : "never woken") << std::endl;
    return jobs_run;
}

int _tmain(int argc, _TCHAR *argv[])
{
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Jobs), TEXT("Local\\CorpusJobs"));
    Jobs *jobs = (Jobs *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    HANDLE posted = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusJobPosted"));
    HANDLE taken = CreateEvent(NULL, FALSE, FALSE, TEXT("Local\\CorpusJobTaken"));

    if (argc > 1) { // the feeder
        for (LONG v = 1; v <= 5; v++) {
            jobs->values[jobs->count] = v * 10;
            jobs->count++;
            SetEvent(posted);
            WaitForSingleObject(taken, INFINITE);
        }
        jobs->count = -1;
        SetEvent(posted);
        return 0;
    }

    DWORD tid;
    HANDLE worker = CreateThread(NULL, 0, Worker, NULL, 0, &tid);
    STARTUPINFO si = {sizeof(si)};
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" feed"), argv[0]);
    if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        std::cout << "CreateProcess failed " << GetLastError() << std::endl;
        return 1;
    }
    LONG next = 0;
    for (;;) {
        WaitForSingleObject(posted, INFINITE);
        if (jobs->count < 0)
            break;
        QueueUserAPC(RunJob, worker, (ULONG_PTR)jobs->values[next++]);
        SetEvent(taken);
    }
    QueueUserAPC(Quit, worker, 0);
    WaitForSingleObject(worker, INFINITE);
    DWORD code = 0;
    GetExitCodeThread(worker, &code);
    std::cout << "main: worker ran " << code << " jobs, total " << total << std::endl;
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(worker);
    return 0;
}
