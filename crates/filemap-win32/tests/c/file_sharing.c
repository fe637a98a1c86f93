/* "Sharing a File": the first process opens a file for exclusive access with CreateFile,
 * creates a named mapping of it, and a second process (started with CreateProcess) can use the
 * file only through the mapping: its own CreateFile fails with ERROR_SHARING_VIOLATION. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"


int _tmain(int argc, _TCHAR *argv[])
{
    _TCHAR path[MAX_PATH], name[64], cmd[1024];
    HANDLE file, map;
    char *view;
    DWORD n, code;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;

    if (argc == 4) { /* the second process */
        file = CreateFile(argv[2], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        CHECK(file == INVALID_HANDLE_VALUE && GetLastError() == ERROR_SHARING_VIOLATION);
        map = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, argv[3]);
        CHECK(map != NULL);
        view = (char *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        CHECK(view != NULL);
        if (view) {
            CHECK(memcmp(view, "shared file contents", 20) == 0);
            memcpy(view + 100, "child was here", 14);
            CHECK(FlushViewOfFile(view, 0));
            CHECK(UnmapViewOfFile(view));
        }
        CHECK(CloseHandle(map));
        return failures ? 1 : 21;
    }

    _stprintf(path, TEXT("file_sharing_%u.dat"), (unsigned)GetCurrentProcessId());
    _stprintf(name, TEXT("Local\\file_sharing_%u"), (unsigned)GetCurrentProcessId());
    file = CreateFile(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK(WriteFile(file, "shared file contents", 20, &n, NULL) && n == 20);
    map = CreateFileMapping(file, NULL, PAGE_READWRITE, 0, 4096, name);
    CHECK(map != NULL && GetLastError() == 0);
    view = (char *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view != NULL);

    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf(cmd, TEXT("\"%s\" child \"%s\" %s"), argv[0], path, name);
    CHECK(CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 21);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    CHECK(view && memcmp(view + 100, "child was here", 14) == 0);
    CHECK(UnmapViewOfFile(view));
    CHECK(CloseHandle(map));
    /* the data reached the file */
    {
        char buf[16] = {0};
        CHECK(SetFilePointer(file, 100, NULL, FILE_BEGIN) == 100);
        CHECK(ReadFile(file, buf, 14, &n, NULL) && n == 14 && strcmp(buf, "child was here") == 0);
        CHECK(GetFileSize(file, NULL) == 4096);
    }
    CHECK(CloseHandle(file));
    /* now anyone may open it */
    file = CreateFile(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(file));
    CHECK(DeleteFile(path));
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("FILE SHARING OK\n"));
    return 0;
}
