/* Every mapping, handle, error and system function of filemap-win32, in one process:
 * success paths and the exact Windows error codes. Exit 0 and "ALL OK" on success; on the
 * first failure, the line and the last error. Compiled as C and C++, ANSI and UNICODE. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <unistd.h>
#include "check.h"


static void test_types(void)
{
    CHECK(sizeof(DWORD) == 4);
    CHECK(sizeof(LONG) == 4);
    CHECK(sizeof(ULONG) == 4);
    CHECK(sizeof(WORD) == 2);
    CHECK(sizeof(WCHAR) == sizeof(wchar_t) && sizeof(WCHAR) == 4); /* wchar_t: 32-bit on Linux */
    CHECK(sizeof(HANDLE) == sizeof(void *));
    CHECK(sizeof(SIZE_T) == 8);
    CHECK(sizeof(LARGE_INTEGER) == 8);
    CHECK(sizeof(SECURITY_ATTRIBUTES) == 24);
    CHECK(sizeof(SYSTEM_INFO) == 48);
    CHECK(sizeof(PROCESS_INFORMATION) == 24);
    CHECK(sizeof(STARTUPINFOA) == 104);
    CHECK(sizeof(TEXT("ab")) == 3 * sizeof(TCHAR));
    CHECK(MAKELONG(0x1234, 0x5678) == 0x56781234);
    CHECK(LOWORD(0x56781234) == 0x1234 && HIWORD(0x56781234) == 0x5678);
    CHECK(MAKEWORD(0x12, 0x34) == 0x3412);
    CHECK(MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT) == 0x400);
    CHECK(FILE_MAP_ALL_ACCESS == 0xF001F && MUTEX_ALL_ACCESS == 0x1F0001 && EVENT_ALL_ACCESS == 0x1F0003);
    CHECK(SEMAPHORE_ALL_ACCESS == 0x1F0003 && TIMER_ALL_ACCESS == 0x1F0003 && PROCESS_ALL_ACCESS == 0x1FFFFF);
    CHECK(WAIT_TIMEOUT == 258 && WAIT_FAILED == 0xFFFFFFFF && INFINITE == 0xFFFFFFFF && STILL_ACTIVE == 259);
    CHECK(INVALID_HANDLE_VALUE == (HANDLE)(LONG_PTR)-1);
}

static void test_last_error(void)
{
    SetLastError(12345);
    CHECK(GetLastError() == 12345);
    SetLastError(0);
    CHECK(GetLastError() == 0);
}

static void test_mapping(void)
{
    HANDLE h, h2, dup;
    char *view, *view2;
    DWORD flags;
    SYSTEM_INFO si;
    TCHAR name[64];

    _stprintf(name, TEXT("Local\\api_basics_%u"), (unsigned)GetCurrentProcessId());

    /* creation: new sets 0, existing sets ERROR_ALREADY_EXISTS */
    SetLastError(0xdeadbeef);
    h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 100000, name);
    CHECK(h != NULL);
    CHECK(GetLastError() == 0);
    SetLastError(0xdeadbeef);
    h2 = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 5, name);
    CHECK(h2 != NULL && h2 != h);
    CHECK(GetLastError() == ERROR_ALREADY_EXISTS);

    /* views are coherent and 64 KiB aligned */
    view = (char *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    view2 = (char *)MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 0);
    CHECK(view != NULL && view2 != NULL && view != view2);
    CHECK(((ULONG_PTR)view & 0xFFFF) == 0);
    CopyMemory(view, "hello", 6);
    CHECK(strcmp(view2, "hello") == 0);
    ZeroMemory(view, 6);
    CHECK(view2[0] == 0);
    FillMemory(view, 3, 'z');
    CHECK(memcmp(view2, "zzz", 3) == 0);
    MoveMemory(view + 1, view, 3);
    CHECK(memcmp(view2, "zzzz", 4) == 0);
    CHECK(FlushViewOfFile(view, 0));
    CHECK(UnmapViewOfFile(view2));

    /* VirtualQuery describes views */
    {
        MEMORY_BASIC_INFORMATION mbi;
        CHECK(VirtualQuery(view + 10, &mbi, sizeof mbi) == sizeof mbi);
        CHECK(mbi.BaseAddress == view && mbi.AllocationBase == view && mbi.State == MEM_COMMIT);
        CHECK(mbi.Type == MEM_MAPPED && mbi.Protect == PAGE_READWRITE && mbi.RegionSize >= 100000 &&
              mbi.RegionSize % 4096 == 0);
        view2 = (char *)MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 0);
        CHECK(VirtualQuery(view2, &mbi, sizeof mbi) == sizeof mbi && mbi.Protect == PAGE_READONLY);
        CHECK(UnmapViewOfFile(view2));
        SetLastError(0);
        CHECK(VirtualQuery(view, &mbi, 8) == 0 && GetLastError() == ERROR_BAD_LENGTH);
    }

    /* the size of the second create was ignored: the whole 100000 bytes map */
    view2 = (char *)MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 100000);
    CHECK(view2 != NULL);
    CHECK(UnmapViewOfFile(view2 + 4096 + 100)); /* any address inside works */
    {
        MEMORY_BASIC_INFORMATION mbi;
        CHECK(VirtualQuery(view2, &mbi, sizeof mbi) == sizeof mbi && mbi.State == MEM_FREE && mbi.Type == 0);
    }

    /* errors of MapViewOfFile */
    CHECK_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 1, 0) == NULL, ERROR_MAPPED_ALIGNMENT);
    CHECK_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 200000) == NULL, ERROR_ACCESS_DENIED);
    CHECK_ERR(MapViewOfFile(NULL, FILE_MAP_READ, 0, 0, 0) == NULL, ERROR_INVALID_HANDLE);
    CHECK_ERR(MapViewOfFile((HANDLE)(ULONG_PTR)0xdeadbee0, FILE_MAP_READ, 0, 0, 0) == NULL, ERROR_INVALID_HANDLE);

    /* MapViewOfFileEx at a chosen address; misaligned and busy addresses */
    GetSystemInfo(&si);
    CHECK(si.dwAllocationGranularity == 65536 && si.dwPageSize == 4096 && si.dwNumberOfProcessors >= 1);
    {
        char *want = (char *)0x7e0000000000;
        char *got = (char *)MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 0, want);
        CHECK(got == want);
        CHECK_ERR(MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 0, want) == NULL, ERROR_INVALID_ADDRESS);
        CHECK_ERR(MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 0, want + 42) == NULL, ERROR_MAPPED_ALIGNMENT);
        CHECK(UnmapViewOfFile(got));
    }

    /* unmap errors */
    CHECK_ERR(!UnmapViewOfFile(view + 200000), ERROR_INVALID_ADDRESS);
    CHECK_ERR(!UnmapViewOfFile(NULL), ERROR_INVALID_ADDRESS);
    CHECK_ERR(!FlushViewOfFile(NULL, 0), ERROR_INVALID_ADDRESS);

    /* DuplicateHandle with less access */
    CHECK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, FILE_MAP_READ, FALSE, 0));
    CHECK_ERR(MapViewOfFile(dup, FILE_MAP_WRITE, 0, 0, 0) == NULL, ERROR_ACCESS_DENIED);
    view2 = (char *)MapViewOfFile(dup, FILE_MAP_READ, 0, 0, 0);
    CHECK(view2 != NULL && view2[0] == 'z');
    CHECK(UnmapViewOfFile(view2));
    /* ... and not more than the source has */
    {
        HANDLE more;
        CHECK_ERR(!DuplicateHandle(GetCurrentProcess(), dup, GetCurrentProcess(), &more, FILE_MAP_ALL_ACCESS, FALSE, 0),
                  ERROR_ACCESS_DENIED);
    }
    /* DUPLICATE_CLOSE_SOURCE | SAME_ACCESS gives the same value back */
    {
        HANDLE same;
        CHECK(DuplicateHandle(GetCurrentProcess(), dup, GetCurrentProcess(), &same, 0, TRUE,
                              DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
        CHECK(same == dup);
        CHECK(GetHandleInformation(same, &flags) && flags == HANDLE_FLAG_INHERIT);
        dup = same;
    }

    /* handle flags */
    CHECK(GetHandleInformation(h, &flags) && flags == 0);
    CHECK(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    CHECK(GetHandleInformation(h, &flags) && flags == HANDLE_FLAG_PROTECT_FROM_CLOSE);
    CHECK_ERR(!CloseHandle(h), ERROR_INVALID_HANDLE);
    CHECK(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    CHECK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(GetHandleInformation(h, &flags) && flags == HANDLE_FLAG_INHERIT);
    CHECK_ERR(!GetHandleInformation((HANDLE)(ULONG_PTR)0xdeadbee0, &flags), ERROR_INVALID_HANDLE);
    CHECK_ERR(!SetHandleInformation(NULL, 1, 1), ERROR_INVALID_HANDLE);

    /* low two bits of a handle value are ignored */
    view2 = (char *)MapViewOfFile((HANDLE)((ULONG_PTR)h | 3), FILE_MAP_READ, 0, 0, 0);
    CHECK(view2 != NULL);
    CHECK(UnmapViewOfFile(view2));

    /* closing: the name lives while a handle does; views survive the last close */
    CHECK(CloseHandle(h2));
    CHECK(CloseHandle(dup));
    h2 = OpenFileMapping(FILE_MAP_READ, FALSE, name);
    CHECK(h2 != NULL);
    CHECK(CloseHandle(h2));
    CHECK(CloseHandle(h));
    CHECK_ERR(!CloseHandle(h), ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenFileMapping(FILE_MAP_READ, FALSE, name) == NULL, ERROR_FILE_NOT_FOUND);
    CHECK(view[0] == 'z'); /* the view is still mapped */
    view[0] = 'y';
    SetLastError(0xdeadbeef);
    h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    CHECK(h != NULL && GetLastError() == 0); /* a new, zeroed object */
    view2 = (char *)MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    CHECK(view2 && view2[0] == 0);
    CHECK(UnmapViewOfFile(view2));
    CHECK(UnmapViewOfFile(view));
    CHECK(CloseHandle(h));

    /* parameter errors of CreateFileMapping/OpenFileMapping */
    CHECK_ERR(CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0, name) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_NOACCESS, 0, 10, name) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE, 0, 10, name) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | PAGE_READONLY, 0, 10, name) == NULL,
              ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_COMMIT | SEC_RESERVE, 0, 10, name) == NULL,
              ERROR_INVALID_PARAMETER);
    CHECK_ERR(CreateFileMapping((HANDLE)(ULONG_PTR)0xdeadbee0, NULL, PAGE_READWRITE, 0, 10, name) == NULL,
              ERROR_INVALID_HANDLE);
    CHECK_ERR(OpenFileMapping(FILE_MAP_READ, FALSE, NULL) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(OpenFileMapping(FILE_MAP_READ, FALSE, TEXT("Local\\no such object anywhere")) == NULL, ERROR_FILE_NOT_FOUND);

    /* unnamed mappings */
    SetLastError(0xdeadbeef);
    h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 4096, NULL);
    CHECK(h != NULL && GetLastError() == 0);
    CHECK_ERR(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) == NULL, ERROR_ACCESS_DENIED);
    view = (char *)MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
    CHECK(view != NULL);
    view[0] = 1; /* copy-on-write */
    CHECK(UnmapViewOfFile(view));
    CHECK(CloseHandle(h));

    /* pseudo-handles */
    CHECK(GetCurrentProcess() == (HANDLE)(LONG_PTR)-1);
    CHECK(CloseHandle(GetCurrentProcess()));
    CHECK_ERR(!CloseHandle(NULL), ERROR_INVALID_HANDLE);
}

static void test_files(void)
{
    TCHAR path[MAX_PATH];
    char tmp[MAX_PATH];
    HANDLE f, f2, m;
    DWORD n, high;
    LARGE_INTEGER size;
    char *view;

    CHECK(GetTempPathA(sizeof tmp, tmp) > 0 && tmp[strlen(tmp) - 1] == '/');
    _stprintf(path, TEXT("api_basics_%u.dat"), (unsigned)GetCurrentProcessId());
    DeleteFile(path);

    CHECK_ERR(CreateFile(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND);
    CHECK_ERR(CreateFile(TEXT("no_such_dir/x.dat"), GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE,
              ERROR_PATH_NOT_FOUND);
    CHECK_ERR(CreateFile(TEXT(""), GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);

    SetLastError(0xdeadbeef);
    f = CreateFile(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(f != INVALID_HANDLE_VALUE && GetLastError() == 0);
    CHECK(WriteFile(f, "0123456789", 10, &n, NULL) && n == 10);
    CHECK(GetFileSize(f, &high) == 10 && high == 0);
    CHECK(GetFileSizeEx(f, &size) && size.QuadPart == 10);
    CHECK(SetFilePointer(f, 2, NULL, FILE_BEGIN) == 2);
    {
        char buf[4] = {0};
        CHECK(ReadFile(f, buf, 3, &n, NULL) && n == 3 && memcmp(buf, "234", 3) == 0);
    }
    CHECK(FlushFileBuffers(f));

    /* exclusive open (share 0): every other open fails with a sharing violation */
    CHECK_ERR(CreateFile(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL) ==
                  INVALID_HANDLE_VALUE,
              ERROR_SHARING_VIOLATION);
    CHECK_ERR(CreateFile(path, GENERIC_READ, 0, NULL, CREATE_NEW, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_FILE_EXISTS);
    /* an open with no data access shares everything */
    f2 = CreateFile(path, 0, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(f2 != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(f2));

    /* a file-backed mapping larger than the file extends it */
    m = CreateFileMapping(f, NULL, PAGE_READWRITE, 0, 65536 * 2, NULL);
    CHECK(m != NULL);
    CHECK(GetFileSize(f, NULL) == 65536 * 2);
    view = (char *)MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 65536, 0);
    CHECK(view != NULL);
    strcpy(view, "second chunk");
    CHECK(FlushViewOfFile(view, 0));
    CHECK(UnmapViewOfFile(view));
    CHECK(CloseHandle(m));
    CHECK(SetFilePointer(f, 65536, NULL, FILE_BEGIN) == 65536);
    {
        char buf[16] = {0};
        CHECK(ReadFile(f, buf, 12, &n, NULL) && n == 12 && strcmp(buf, "second chunk") == 0);
    }
    CHECK(SetFilePointer(f, 5, NULL, FILE_BEGIN) == 5 && SetEndOfFile(f) && GetFileSize(f, NULL) == 5);
    /* empty-size mapping of the file = its size; mapping a 0-byte file fails */
    m = CreateFileMapping(f, NULL, PAGE_READONLY, 0, 0, NULL);
    CHECK(m != NULL);
    CHECK(CloseHandle(m));
    CHECK(CloseHandle(f));

    /* a read-only handle cannot back a read-write mapping */
    f = CreateFile(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(f != INVALID_HANDLE_VALUE);
    CHECK_ERR(CreateFileMapping(f, NULL, PAGE_READWRITE, 0, 0, NULL) == NULL, ERROR_ACCESS_DENIED);
    CHECK_ERR(!WriteFile(f, "x", 1, &n, NULL), ERROR_ACCESS_DENIED);
    /* share rule both ways: #1 reads sharing READ; a writer conflicts, a reader does not */
    CHECK_ERR(CreateFile(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL) ==
                  INVALID_HANDLE_VALUE,
              ERROR_SHARING_VIOLATION);
    f2 = CreateFile(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(f2 != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(f2));
    CHECK(CloseHandle(f));

    /* CREATE_ALWAYS / OPEN_ALWAYS on an existing file: ERROR_ALREADY_EXISTS; truncation */
    SetLastError(0xdeadbeef);
    f = CreateFile(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, 0, NULL);
    CHECK(f != INVALID_HANDLE_VALUE && GetLastError() == ERROR_ALREADY_EXISTS && GetFileSize(f, NULL) == 5);
    CHECK(CloseHandle(f));
    SetLastError(0xdeadbeef);
    f = CreateFile(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    CHECK(f != INVALID_HANDLE_VALUE && GetLastError() == ERROR_ALREADY_EXISTS && GetFileSize(f, NULL) == 0);
    CHECK_ERR(CreateFileMapping(f, NULL, PAGE_READWRITE, 0, 0, NULL) == NULL, ERROR_FILE_INVALID);
    CHECK(CloseHandle(f));
    CHECK(GetFileAttributes(path) == FILE_ATTRIBUTE_NORMAL);
    CHECK(DeleteFile(path));
    CHECK_ERR(!DeleteFile(path), ERROR_FILE_NOT_FOUND);
    CHECK_ERR(GetFileAttributes(path) == INVALID_FILE_ATTRIBUTES, ERROR_FILE_NOT_FOUND);
    SetLastError(0xdeadbeef);
    f = CreateFile(path, GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CHECK(f != INVALID_HANDLE_VALUE && GetLastError() == 0);
    CHECK(CloseHandle(f));
    CHECK(GetFileAttributes(path) == INVALID_FILE_ATTRIBUTES);
    CHECK_ERR(CreateFile(path, GENERIC_READ, 0, NULL, 7, 0, NULL) == INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    CHECK_ERR(GetFileSize(NULL, NULL) == INVALID_FILE_SIZE, ERROR_INVALID_HANDLE);
}

static void test_misc(void)
{
    char *msg = NULL;
    TCHAR buf[256];
    DWORD t1, n;
    ULONGLONG t64;
    HANDLE self;

    CHECK(lstrlenA("hello") == 5 && lstrlenA(NULL) == 0);
    CHECK(lstrlen(TEXT("hello")) == 5);
    CHECK(lstrcmp(TEXT("abc"), TEXT("abd")) < 0 && lstrcmpi(TEXT("ABC"), TEXT("abc")) == 0);
    lstrcpy(buf, TEXT("ab"));
    lstrcat(buf, TEXT("cd"));
    CHECK(lstrcmp(buf, TEXT("abcd")) == 0);

    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                       ERROR_FILE_NOT_FOUND, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), (LPSTR)&msg, 0, NULL);
    CHECK(n > 0 && msg && strcmp(msg, "The system cannot find the file specified.\r\n") == 0 && n == strlen(msg));
    CHECK(LocalFree(msg) == NULL);
    n = FormatMessage(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, ERROR_ALREADY_EXISTS, 0, buf,
                      sizeof buf / sizeof buf[0], NULL);
    CHECK(n == (DWORD)lstrlen(buf) && n > 10 && buf[n - 1] == '\n');
    CHECK_ERR(FormatMessage(FORMAT_MESSAGE_FROM_SYSTEM, NULL, ERROR_ALREADY_EXISTS, 0, buf, 5, NULL) == 0,
              ERROR_INSUFFICIENT_BUFFER);
    CHECK_ERR(FormatMessage(FORMAT_MESSAGE_FROM_SYSTEM, NULL, 0x12345678, 0, buf, 256, NULL) == 0, 317);

    t1 = GetTickCount();
    t64 = GetTickCount64();
    Sleep(50);
    CHECK(GetTickCount() - t1 >= 45 && GetTickCount64() - t64 >= 45);
    CHECK(GetCurrentProcessId() == (DWORD)getpid());
    CHECK(GetCurrentThreadId() != 0);
    CHECK(AllocConsole() && SetConsoleTitle(TEXT("title")) && SetConsoleTitleA("t"));
    CHECK(MessageBox(NULL, TEXT("box text"), TEXT("Caption"), MB_OK) == IDOK);
    CHECK(MessageBoxA(NULL, "yes?", "Q", MB_YESNO) == IDYES);

    /* a real handle to this process */
    CHECK(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(), &self, 0, FALSE,
                          DUPLICATE_SAME_ACCESS));
    CHECK(self != GetCurrentProcess());
    CHECK(GetProcessId(self) == GetCurrentProcessId());
    CHECK(GetExitCodeProcess(self, &n) && n == STILL_ACTIVE);
    CHECK(WaitForSingleObject(self, 10) == WAIT_TIMEOUT);
    CHECK(WaitForSingleObject(GetCurrentProcess(), 10) == WAIT_TIMEOUT);
    CHECK(CloseHandle(self));
    CHECK_ERR(WaitForSingleObject((HANDLE)(ULONG_PTR)0xdeadbee0, 0) == WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK_ERR(WaitForMultipleObjects(0, &self, FALSE, 0) == WAIT_FAILED, ERROR_INVALID_PARAMETER);
    CHECK_ERR(WaitForMultipleObjects(65, &self, FALSE, 0) == WAIT_FAILED, ERROR_INVALID_PARAMETER);
}

int _tmain(int argc, _TCHAR *argv[])
{
    (void)argc;
    (void)argv;
    test_types();
    test_last_error();
    test_mapping();
    test_files();
    test_misc();
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("ALL OK %s\n"), TEXT("(text)"));
    return 0;
}
