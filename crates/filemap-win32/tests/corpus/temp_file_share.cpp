// temp_file_share.cpp - a scratch file for two processes: GetTempPath + GetTempFileName give
// the name, FILE_FLAG_DELETE_ON_CLOSE makes it vanish with the last handle (or the process);
// a second process opens the same file with compatible share modes and reads what was mapped.
#include <windows.h>
#include <tchar.h>
#include <iostream>
#include <string>

int _tmain(int argc, _TCHAR *argv[])
{
    if (argc > 2) { // reader: <exe> read <path>
        HANDLE f = CreateFile(argv[2], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                              OPEN_EXISTING, 0, NULL);
        if (f == INVALID_HANDLE_VALUE) {
            std::cout << "reader: CreateFile failed " << GetLastError() << std::endl;
            return 1;
        }
        char buf[64] = {0};
        DWORD n = 0;
        ReadFile(f, buf, sizeof buf - 1, &n, NULL);
        std::cout << "reader: " << n << " bytes: " << buf << std::endl;
        CloseHandle(f);
        return 0;
    }
    TCHAR dir[MAX_PATH], path[MAX_PATH];
    DWORD len = GetTempPath(MAX_PATH, dir);
    UINT unique = GetTempFileName(TEXT("."), TEXT("shr"), 0, path);
    std::cout << "temp dir ends with a separator: " << (len > 0 && dir[len - 1] == '/' ? "yes" : "no") << std::endl;
    std::cout << "GetTempFileName made a file: " << (unique != 0 && GetFileAttributes(path) != INVALID_FILE_ATTRIBUTES ? "yes" : "no")
              << std::endl;
    HANDLE f = CreateFile(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, CREATE_ALWAYS,
                          FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    HANDLE map = CreateFileMapping(f, NULL, PAGE_READWRITE, 0, 4096, NULL);
    char *view = static_cast<char *>(MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0));
    lstrcpyA(view, "scratch data for the reader");
    FlushViewOfFile(view, 0);

    STARTUPINFO si = {sizeof(si)};
    PROCESS_INFORMATION pi;
    std::basic_string<TCHAR> cmd = std::basic_string<TCHAR>(TEXT("\"")) + argv[0] + TEXT("\" read ") + path;
    std::basic_string<TCHAR> mutable_cmd(cmd);
    if (!CreateProcess(NULL, &mutable_cmd[0], NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        std::cout << "CreateProcess failed " << GetLastError() << std::endl;
        return 1;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    UnmapViewOfFile(view);
    CloseHandle(map);
    std::cout << "still there before the last close: " << (GetFileAttributes(path) != INVALID_FILE_ATTRIBUTES ? "yes" : "no")
              << std::endl;
    CloseHandle(f);
    std::cout << "gone after it: " << (GetFileAttributes(path) == INVALID_FILE_ATTRIBUTES ? "yes" : "no") << std::endl;
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
