// One writer, three readers (started with CreateProcess), a message board in named shared
// memory: the writer posts messages under a named mutex and raises a manual-reset event; each
// reader copies the message and reports back through a named semaphore. C++ with the standard
// library alongside windows.h (std::min/std::max, numeric_limits, iostream, string).
#include <windows.h>
#include <tchar.h>
#include <algorithm>
#include <iostream>
#include <limits>
#include <string>
#include <vector>
#pragma comment(lib, "kernel32.lib")
#pragma warning(disable : 4996)

struct Board {
    LONG seq;
    char text[128];
};

static const int kReaders = 3;
static const int kMessages = 20;

static std::basic_string<TCHAR> Name(const TCHAR *what, const TCHAR *tag)
{
    TCHAR buf[128];
    _stprintf_s(buf, _countof(buf), TEXT("Local\\Board%s_%s"), what, tag);
    return buf;
}

static int Reader(const TCHAR *tag)
{
    HANDLE map = OpenFileMapping(FILE_MAP_READ, FALSE, Name(TEXT("Mem"), tag).c_str());
    HANDLE lock = OpenMutex(SYNCHRONIZE, FALSE, Name(TEXT("Lock"), tag).c_str());
    HANDLE ready = OpenEvent(SYNCHRONIZE, FALSE, Name(TEXT("Ready"), tag).c_str());
    HANDLE done = OpenSemaphore(SEMAPHORE_MODIFY_STATE, FALSE, Name(TEXT("Done"), tag).c_str());
    if (!map || !lock || !ready || !done) {
        std::cout << "reader: open failed " << GetLastError() << std::endl;
        return 200;
    }
    const Board *board = static_cast<const Board *>(MapViewOfFile(map, FILE_MAP_READ, 0, 0, sizeof(Board)));
    LONG last = 0;
    int got = 0;
    std::vector<std::string> seen;
    for (;;) {
        if (WaitForSingleObject(ready, 20000) != WAIT_OBJECT_0)
            return 201;
        WaitForSingleObject(lock, INFINITE);
        LONG seq = board->seq;
        std::string text = board->text;
        ReleaseMutex(lock);
        if (seq == last) {
            Sleep(1);
            continue;
        }
        last = seq;
        if (text == "quit")
            break;
        seen.push_back(text);
        got++;
        ReleaseSemaphore(done, 1, NULL);
    }
    std::cout << "reader " << GetCurrentProcessId() << " got " << got << " last " << seen.back() << std::endl;
    UnmapViewOfFile(board);
    CloseHandle(map);
    CloseHandle(lock);
    CloseHandle(ready);
    CloseHandle(done);
    return got;
}

int _tmain(int argc, TCHAR *argv[])
{
    if (argc == 3 && _tcscmp(argv[1], TEXT("reader")) == 0)
        return Reader(argv[2]);

    TCHAR tag[32];
    _stprintf_s(tag, _countof(tag), TEXT("%u"), (unsigned)GetCurrentProcessId());
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Board), Name(TEXT("Mem"), tag).c_str());
    HANDLE lock = CreateMutex(NULL, FALSE, Name(TEXT("Lock"), tag).c_str());
    HANDLE ready = CreateEvent(NULL, TRUE, FALSE, Name(TEXT("Ready"), tag).c_str());
    HANDLE done = CreateSemaphore(NULL, 0, kReaders, Name(TEXT("Done"), tag).c_str());
    if (!map || !lock || !ready || !done) {
        std::cout << "create failed " << GetLastError() << std::endl;
        return 1;
    }
    Board *board = static_cast<Board *>(MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0));

    std::vector<PROCESS_INFORMATION> readers;
    for (int i = 0; i < kReaders; i++) {
        STARTUPINFO si = {};
        si.cb = sizeof(si);
        PROCESS_INFORMATION pi = {};
        TCHAR cmd[512];
        _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" reader %s"), argv[0], tag);
        if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
            std::cout << "CreateProcess failed " << GetLastError() << std::endl;
            return 1;
        }
        readers.push_back(pi);
    }

    for (int m = 1; m <= kMessages + 1; m++) {
        WaitForSingleObject(lock, INFINITE);
        board->seq = m;
        char text[128];
        if (m <= kMessages)
            sprintf_s(text, "message %d", m); // the array-template overload
        else
            strcpy_s(text, "quit");
        strcpy_s(board->text, sizeof(board->text), text);
        ReleaseMutex(lock);
        SetEvent(ready);
        if (m > kMessages)
            break;
        for (int r = 0; r < kReaders; r++)
            if (WaitForSingleObject(done, 20000) != WAIT_OBJECT_0) {
                std::cout << "writer: readers stuck" << std::endl;
                return 1;
            }
        ResetEvent(ready);
    }

    std::vector<HANDLE> procs;
    for (auto &pi : readers)
        procs.push_back(pi.hProcess);
    if (WaitForMultipleObjects((DWORD)procs.size(), procs.data(), TRUE, 30000) != WAIT_OBJECT_0) {
        std::cout << "writer: readers did not exit" << std::endl;
        return 1;
    }
    int total = 0, least = std::numeric_limits<int>::max(), most = 0;
    for (auto &pi : readers) {
        DWORD code = 0;
        GetExitCodeProcess(pi.hProcess, &code);
        total += (int)code;
        least = std::min(least, (int)code);
        most = std::max<int>(most, (int)code);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    std::cout << "readers read " << total << " messages (min " << least << ", max " << max(most, 0) << ")" << std::endl;
    UnmapViewOfFile(board);
    CloseHandle(map);
    CloseHandle(lock);
    CloseHandle(ready);
    CloseHandle(done);
    return total == kReaders * kMessages && least == kMessages ? 0 : 1;
}
