/* NULL pointers, bad handles, bad flags, bad names: every call fails with the code Windows
 * sets (or does nothing where Windows does nothing), and nothing crashes. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"


#define BOGUS ((HANDLE)(ULONG_PTR)0x7ffffff0)

int main(void)
{
    HANDLE map, file, ev, sem, timer, dup;
    DWORD dw;
    char name[400];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[] = "true";

    /* handles */
    CHECK_ERR(!CloseHandle(NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(!CloseHandle(BOGUS), ERROR_INVALID_HANDLE);
    CHECK_ERR(!CloseHandle((HANDLE)(ULONG_PTR)2), ERROR_INVALID_HANDLE);
    CHECK_ERR(!DuplicateHandle(GetCurrentProcess(), NULL, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS),
              ERROR_INVALID_HANDLE);
    CHECK_ERR(!DuplicateHandle(NULL, BOGUS, GetCurrentProcess(), &dup, 0, FALSE, 0), ERROR_INVALID_HANDLE);
    CHECK_ERR(!GetHandleInformation(NULL, &dw), ERROR_INVALID_HANDLE);
    CHECK_ERR(!SetHandleInformation(INVALID_HANDLE_VALUE, 1, 1), ERROR_INVALID_HANDLE);

    /* mappings */
    map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL);
    CHECK(map != NULL);
    CHECK_ERR(!GetHandleInformation(map, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(MapViewOfFile(INVALID_HANDLE_VALUE, FILE_MAP_READ, 0, 0, 0) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0xFFFFFFFF, 0xFFFFFFFF, NULL) == NULL,
              ERROR_NOT_ENOUGH_MEMORY);
    CHECK_ERR(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | 0x00000100, 0, 4096, NULL) == NULL,
              ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMappingA(map, NULL, PAGE_READWRITE, 0, 4096, NULL) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "Local\\bad\xff\xfe") == NULL,
              ERROR_INVALID_NAME);
    CHECK_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, "") == NULL, ERROR_INVALID_HANDLE);
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0;
    memcpy(name, "Local\\", 6);
    SetLastError(0xdeadbeef);
    CHECK(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name) == NULL);
    printf("long name: %u\n", (unsigned)GetLastError());
    CHECK(GetLastError() != 0xdeadbeef && GetLastError() != 0);
    CHECK_ERR(!UnmapViewOfFile((void *)(ULONG_PTR)0xdeadbeef), ERROR_INVALID_ADDRESS);
    CHECK_ERR(!FlushViewOfFile((void *)(ULONG_PTR)0xdeadbeef, 10), ERROR_INVALID_ADDRESS);

    /* files */
    CHECK_ERR(CreateFileA(NULL, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
    CHECK_ERR(CreateFileA("bad_args.tmp", GENERIC_READ, 0, NULL, 0, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileA("bad_args.tmp", GENERIC_READ, 0, NULL, TRUNCATE_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE,
              ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileA(".", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    file = CreateFileA("bad_args.tmp", GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK_ERR(!ReadFile(file, NULL, 10, &dw, NULL), ERROR_NOACCESS);
    CHECK_ERR(!WriteFile(file, NULL, 10, &dw, NULL), ERROR_NOACCESS);
    CHECK(WriteFile(file, NULL, 0, &dw, NULL) && dw == 0);
    CHECK_ERR(!WriteFile(map, "x", 1, &dw, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(!ReadFile(BOGUS, name, 1, &dw, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(!GetFileSizeEx(file, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(GetFileSize(map, NULL) == INVALID_FILE_SIZE, ERROR_INVALID_HANDLE);
    CHECK_ERR(SetFilePointer(file, -5, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER, ERROR_NEGATIVE_SEEK);
    CHECK_ERR(SetFilePointer(file, 0, NULL, 7) == INVALID_SET_FILE_POINTER, ERROR_INVALID_PARAMETER);
    CHECK_ERR(!DeleteFileA(NULL), ERROR_PATH_NOT_FOUND);
    CHECK_ERR(!DeleteFileA("."), ERROR_ACCESS_DENIED);
    CHECK(CloseHandle(file));

    /* processes */
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    CHECK_ERR(!CreateProcessA(NULL, NULL, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, NULL, &pi), ERROR_NOACCESS);
    CHECK_ERR(!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, NULL), ERROR_NOACCESS);
    CHECK_ERR(!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, "/no/such/dir", &si, &pi), ERROR_DIRECTORY);
    CHECK_ERR(!CreateProcessA("/no/such/program", NULL, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), ERROR_PATH_NOT_FOUND);
    {
        FILE *f = fopen("bad_args_not_a_program.txt", "w");
        CHECK(f != NULL);
        if (f) {
            fputs("plain text, mode 0644\n", f);
            fclose(f);
        }
        CHECK_ERR(!CreateProcessA("bad_args_not_a_program.txt", NULL, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi),
                  ERROR_ACCESS_DENIED);
        CHECK(DeleteFileA("bad_args_not_a_program.txt"));
    }
    CHECK_ERR(!GetExitCodeProcess(GetCurrentProcess(), NULL), ERROR_NOACCESS);
    CHECK_ERR(!TerminateProcess(NULL, 1), ERROR_INVALID_HANDLE);
    CHECK_ERR(!TerminateProcess(map, 1), ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(GetProcessId(map) == 0, ERROR_INVALID_HANDLE);

    /* sync */
    ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    sem = CreateSemaphoreA(NULL, 0, 2, NULL);
    timer = CreateWaitableTimerA(NULL, FALSE, NULL);
    CHECK(ev && sem && timer);
    CHECK_ERR(!ReleaseSemaphore(sem, 0, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!ReleaseSemaphore(sem, -1, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!SetWaitableTimer(timer, NULL, 0, NULL, NULL, FALSE), ERROR_NOACCESS);
    CHECK_ERR(!SetWaitableTimer(ev, NULL, 0, NULL, NULL, FALSE), ERROR_INVALID_HANDLE);
    CHECK_ERR(WaitForMultipleObjects(1, NULL, FALSE, 0) == WAIT_FAILED, ERROR_NOACCESS);
    CHECK_ERR(WaitForSingleObject(NULL, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenEventA(EVENT_ALL_ACCESS, FALSE, NULL) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, "") == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenWaitableTimerA(TIMER_ALL_ACCESS, FALSE, "Local\\bad_args_missing") == NULL, ERROR_FILE_NOT_FOUND);
    CHECK_ERR(!PulseEvent(sem), ERROR_INVALID_HANDLE);
    CHECK_ERR(!ResetEvent(NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(!CancelWaitableTimer(ev), ERROR_INVALID_HANDLE);
    CHECK_ERR(SignalObjectAndWait(map, ev, 0, FALSE) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(ev) && CloseHandle(sem) && CloseHandle(timer) && CloseHandle(map));

    /* misc */
    GetSystemInfo(NULL);
    GetSystemTimeAsFileTime(NULL);
    CHECK(lstrlenA(NULL) == 0 && lstrlenW(NULL) == 0 && lstrcpyA(NULL, "x") == NULL && lstrcatA(name, NULL) == NULL);
    CHECK(lstrcmpA(NULL, "") == 0);
    CHECK_ERR(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, NULL, 2, 0, NULL, 10, NULL) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, NULL, 2, MAKELANGID(LANG_ENGLISH + 1, SUBLANG_DEFAULT), name, 100,
                             NULL) == 0,
              15100);
    CHECK_ERR(FormatMessageA(0, NULL, 2, 0, name, 100, NULL) == 0, ERROR_INVALID_PARAMETER);
    CHECK_ERR(!SetConsoleTitleA(NULL), ERROR_INVALID_PARAMETER);
    CHECK(LocalFree(NULL) == NULL);
    CHECK(MessageBoxA(NULL, NULL, NULL, MB_OK) == IDOK);
    CHECK_ERR(GetStdHandle(12345) == INVALID_HANDLE_VALUE, ERROR_INVALID_HANDLE);
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    printf("BAD ARGS OK\n");
    return 0;
}
