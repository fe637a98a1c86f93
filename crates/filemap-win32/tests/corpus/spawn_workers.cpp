// spawn_workers.cpp - a C++ parent that starts three copies of itself as workers with
// CreateProcess, each computing a slice of a sum into its slot of a shared table, and waits
// for all of them with WaitForMultipleObjects.
#include <windows.h>
#include <tchar.h>
#include <iostream>
#include <sstream>
#include <vector>

struct Table {
    LONGLONG partial[3];
    DWORD pid[3];
};

static int worker(int index)
{
    HANDLE map = OpenFileMapping(FILE_MAP_WRITE, FALSE, TEXT("Local\\CorpusWorkers"));
    if (!map)
        return 100 + (int)GetLastError();
    Table *t = static_cast<Table *>(MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, sizeof(Table)));
    LONGLONG sum = 0;
    for (LONGLONG i = index * 1000 + 1; i <= (index + 1) * 1000; i++)
        sum += i;
    t->partial[index] = sum;
    t->pid[index] = GetCurrentProcessId();
    UnmapViewOfFile(t);
    CloseHandle(map);
    return 10 + index;
}

int _tmain(int argc, _TCHAR *argv[])
{
    if (argc == 3 && _tcscmp(argv[1], _T("worker")) == 0)
        return worker(_ttoi(argv[2]));

    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Table), TEXT("Local\\CorpusWorkers"));
    Table *t = static_cast<Table *>(MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0));
    std::vector<PROCESS_INFORMATION> procs(3);
    HANDLE handles[3];
    for (int i = 0; i < 3; i++) {
        STARTUPINFO si = {sizeof(si)};
        TCHAR cmd[MAX_PATH * 2];
        _stprintf_s(cmd, _countof(cmd), _T("\"%s\" worker %d"), argv[0], i);
        if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &procs[i])) {
            std::cout << "CreateProcess failed: " << GetLastError() << std::endl;
            return 1;
        }
        handles[i] = procs[i].hProcess;
    }
    DWORD r = WaitForMultipleObjects(3, handles, TRUE, 30000);
    std::cout << "all workers done: " << (r == WAIT_OBJECT_0 ? "yes" : "no") << std::endl;
    LONGLONG total = 0;
    for (int i = 0; i < 3; i++) {
        DWORD code = 0;
        GetExitCodeProcess(procs[i].hProcess, &code);
        std::ostringstream line;
        line << "worker " << i << " exit " << code << " partial " << t->partial[i]
             << (t->pid[i] == procs[i].dwProcessId ? " (pid matches)" : " (pid differs)");
        std::cout << line.str() << std::endl;
        total += t->partial[i];
        CloseHandle(procs[i].hProcess);
        CloseHandle(procs[i].hThread);
    }
    std::cout << "total " << total << std::endl;
    return 0;
}
