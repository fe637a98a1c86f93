/* Processes and inheritance across exec: CreateProcess (command-line parsing, program search,
 * bInheritHandles), handle values passed on the command line, the access mask crossing exec,
 * plain fork+exec inheritance, waits on process handles, exit codes, TerminateProcess,
 * ExitProcess. One program, several roles (argv[1]). Exit 0 and "PARENT OK" on success. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <sys/wait.h>
#include <unistd.h>
#define CHECK_ROLE role
#include "check.h"


static const char *role = "parent";

static HANDLE parse_handle(const _TCHAR *s)
{
    unsigned long long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long long)(*s++ - '0');
    return (HANDLE)(ULONG_PTR)v;
}

static unsigned long long hv(HANDLE h) { return (unsigned long long)(ULONG_PTR)h; }

/* Starts this program with a role and arguments; returns the process handle. */
static HANDLE start(const _TCHAR *self, const _TCHAR *args, BOOL inherit, DWORD *pid)
{
    _TCHAR cmd[1024];
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    /* The program as a Windows user would name it: quoted, with .exe. */
    _stprintf(cmd, TEXT("\"%s.exe\" %s"), self, args);
    if (!CreateProcess(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, &pi)) {
        printf("CreateProcess failed (%u)\n", (unsigned)GetLastError());
        failures++;
        return NULL;
    }
    CHECK(pi.dwProcessId != 0 && pi.hThread != NULL && pi.hThread != pi.hProcess);
    CHECK(CloseHandle(pi.hThread));
    if (pid)
        *pid = pi.dwProcessId;
    return pi.hProcess;
}

static DWORD finish(HANDLE h)
{
    DWORD code = 0xdeadbeef;
    CHECK(WaitForSingleObject(h, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(h, &code));
    CHECK(CloseHandle(h));
    return code;
}

static int child(int argc, _TCHAR **argv)
{
    HANDLE inherited = parse_handle(argv[2]);
    HANDLE private_h = parse_handle(argv[3]);
    HANDLE file = parse_handle(argv[4]);
    HANDLE readonly = parse_handle(argv[5]);
    char *view;
    char buf[32] = {0};
    DWORD n, flags;

    role = "child";
    CHECK(argc == 8);
    /* Windows argument parsing */
    CHECK(_tcscmp(argv[6], TEXT("arg with spaces")) == 0);
    CHECK(_tcscmp(argv[7], TEXT("a\\\"b")) == 0);

    /* the inheritable unnamed mapping's value works here */
    view = (char *)MapViewOfFile(inherited, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view != NULL);
    if (view) {
        CHECK(strcmp(view, "from parent") == 0);
        strcpy(view + 100, "from child");
        CHECK(UnmapViewOfFile(view));
    }
    CHECK(GetHandleInformation(inherited, &flags) && (flags & HANDLE_FLAG_INHERIT));
    /* the non-inheritable one's does not */
    SetLastError(0);
    CHECK(MapViewOfFile(private_h, FILE_MAP_READ, 0, 0, 0) == NULL);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    /* the read-only duplicate kept its access across exec */
    SetLastError(0);
    CHECK(MapViewOfFile(readonly, FILE_MAP_WRITE, 0, 0, 0) == NULL && GetLastError() == ERROR_ACCESS_DENIED);
    view = (char *)MapViewOfFile(readonly, FILE_MAP_READ, 0, 0, 0);
    CHECK(view && strcmp(view, "from parent") == 0);
    /* the inherited file handle reads the parent's file (shared file pointer) */
    CHECK(SetFilePointer(file, 0, NULL, FILE_BEGIN) == 0);
    CHECK(ReadFile(file, buf, 9, &n, NULL) && n == 9 && strcmp(buf, "file data") == 0);
    CHECK(CloseHandle(file));
    CHECK(CloseHandle(inherited));
    return failures ? 1 : 42;
}

static int noinherit(_TCHAR **argv)
{
    HANDLE inherited = parse_handle(argv[2]);
    role = "noinherit";
    SetLastError(0);
    CHECK(MapViewOfFile(inherited, FILE_MAP_READ, 0, 0, 0) == NULL && GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    CHECK(!CloseHandle(inherited) && GetLastError() == ERROR_INVALID_HANDLE);
    return failures ? 1 : 43;
}

/* Started by plain fork + exec (not CreateProcess): the value still works. */
static int forkexec(_TCHAR **argv)
{
    HANDLE inherited = parse_handle(argv[2]);
    char *view;
    role = "forkexec";
    view = (char *)MapViewOfFile(inherited, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view && strcmp(view, "from parent") == 0);
    if (view)
        strcpy(view + 200, "from fork+exec");
    return failures ? 1 : 44;
}

static int parent(_TCHAR *self)
{
    SECURITY_ATTRIBUTES sa = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};
    HANDLE inherited, private_h, file, readonly, h, h2, hs[2];
    _TCHAR args[512], path[64];
    char *view;
    DWORD code, n, pid = 0;

    inherited = CreateFileMapping(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 65536, NULL);
    private_h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, NULL);
    CHECK(inherited && private_h);
    view = (char *)MapViewOfFile(inherited, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view != NULL);
    strcpy(view, "from parent");
    CHECK(DuplicateHandle(GetCurrentProcess(), inherited, GetCurrentProcess(), &readonly, FILE_MAP_READ, TRUE, 0));
    _stprintf(path, TEXT("processes_%u.txt"), (unsigned)GetCurrentProcessId());
    file = CreateFile(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, CREATE_ALWAYS,
                      FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK(WriteFile(file, "file data", 9, &n, NULL) && n == 9);

    /* 1. bInheritHandles = TRUE: the child uses the values from its command line */
    _stprintf(args, TEXT("child %llu %llu %llu %llu \"arg with spaces\" a\\\\\\\"b"), hv(inherited), hv(private_h),
              hv(file), hv(readonly));
    h = start(self, args, TRUE, &pid);
    CHECK(h != NULL);
    if (h) {
        CHECK(GetProcessId(h) == pid);
        code = finish(h);
        CHECK(code == 42);
    }
    CHECK(strcmp(view + 100, "from child") == 0);

    /* 2. bInheritHandles = FALSE: the same value is invalid in the child */
    _stprintf(args, TEXT("noinherit %llu"), hv(inherited));
    h = start(self, args, FALSE, NULL);
    if (h)
        CHECK(finish(h) == 43);

    /* 3. any fork + exec inherits inheritable handles too */
    {
        char exe[1024], arg[64];
        pid_t p;
        int status = 0;
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[len > 0 ? len : 0] = 0;
        snprintf(arg, sizeof arg, "%llu", hv(inherited));
        fflush(stdout);
        p = fork();
        if (p == 0) {
            execl(exe, exe, "forkexec", arg, (char *)NULL);
            _exit(127);
        }
        CHECK(waitpid(p, &status, 0) == p && WIFEXITED(status) && WEXITSTATUS(status) == 44);
        CHECK(strcmp(view + 200, "from fork+exec") == 0);
    }

    /* 4. waits, exit codes, TerminateProcess */
    h = start(self, TEXT("sleep"), FALSE, NULL);
    if (h) {
        CHECK(GetExitCodeProcess(h, &code) && code == STILL_ACTIVE);
        CHECK(WaitForSingleObject(h, 100) == WAIT_TIMEOUT);
        CHECK(TerminateProcess(h, 77));
        CHECK(WaitForSingleObject(h, 30000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(h, &code) && code == 77);
        SetLastError(0);
        CHECK(!TerminateProcess(h, 1) && GetLastError() == ERROR_ACCESS_DENIED);
        CHECK(CloseHandle(h));
    }
    h = start(self, TEXT("exit 5"), FALSE, NULL);
    h2 = start(self, TEXT("sleepms 1500"), FALSE, NULL);
    if (h && h2) {
        hs[0] = h2;
        hs[1] = h;
        CHECK(WaitForMultipleObjects(2, hs, FALSE, 30000) == WAIT_OBJECT_0 + 1);
        CHECK(WaitForMultipleObjects(2, hs, TRUE, 30000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(h, &code) && code == 5);
        CHECK(GetExitCodeProcess(h2, &code) && code == 0);
        CHECK(WaitForMultipleObjects(2, hs, FALSE, 0) == WAIT_OBJECT_0); /* lowest index */
        SetLastError(0);
        hs[1] = h2;
        CHECK(WaitForMultipleObjects(2, hs, TRUE, 0) == WAIT_FAILED && GetLastError() == ERROR_INVALID_PARAMETER);
        hs[1] = GetCurrentProcess();
        CHECK(WaitForMultipleObjects(2, hs, FALSE, 0) == WAIT_FAILED && GetLastError() == ERROR_INVALID_HANDLE);
        CHECK(CloseHandle(h) && CloseHandle(h2));
    }

    /* 4b. CREATE_SUSPENDED: nothing runs until ResumeThread */
    {
        STARTUPINFO si;
        PROCESS_INFORMATION pi;
        _TCHAR cmd[1024];
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        _stprintf(cmd, TEXT("\"%s\" exit 6"), self);
        CHECK(CreateProcess(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi));
        CHECK(WaitForSingleObject(pi.hProcess, 200) == WAIT_TIMEOUT);
        CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == STILL_ACTIVE);
        CHECK(ResumeThread(pi.hThread) == 1);
        CHECK(ResumeThread(pi.hThread) == 0);
        CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 6);
        CHECK(CloseHandle(pi.hProcess) && CloseHandle(pi.hThread));
        /* terminated while suspended */
        CHECK(CreateProcess(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi));
        CHECK(TerminateProcess(pi.hProcess, 3));
        CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 3);
        CHECK(CloseHandle(pi.hProcess) && CloseHandle(pi.hThread));
    }

    /* 5. the program's own path, command line and environment */
    {
        _TCHAR exe[MAX_PATH], small[4], value[16];
        DWORD len = GetModuleFileName(NULL, exe, MAX_PATH);
        CHECK(len > 0 && len == (DWORD)_tcslen(exe) && exe[0] == '/');
        CHECK(GetModuleFileName(GetModuleHandle(NULL), exe, MAX_PATH) == len);
        SetLastError(0);
        CHECK(GetModuleFileName(NULL, small, 4) == 4 && GetLastError() == ERROR_INSUFFICIENT_BUFFER && small[3] == 0);
        CHECK(GetModuleHandle(TEXT("user32.dll")) == NULL && GetLastError() == ERROR_MOD_NOT_FOUND);
        CHECK(_tcsstr(GetCommandLine(), TEXT("processes")) != NULL);
        CHECK(SetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), TEXT("v1")));
        CHECK(GetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), value, 16) == 2 && _tcscmp(value, TEXT("v1")) == 0);
        CHECK(GetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), value, 2) == 3);
        /* a child started now sees it */
        h = start(self, TEXT("envcheck"), FALSE, NULL);
        if (h)
            CHECK(finish(h) == 45);
        CHECK(SetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), NULL));
        SetLastError(0);
        CHECK(GetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), value, 16) == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND);
    }

    /* 6. errors */
    {
        STARTUPINFO si;
        PROCESS_INFORMATION pi;
        _TCHAR cmd[] = TEXT("no_such_program_anywhere --flag");
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        SetLastError(0);
        CHECK(!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
        CHECK(GetLastError() == ERROR_FILE_NOT_FOUND);
        SetLastError(0);
        CHECK(!GetExitCodeProcess((HANDLE)(ULONG_PTR)0xdeadbee0, &code) && GetLastError() == ERROR_INVALID_HANDLE);
        CHECK(!GetExitCodeProcess(private_h, &code) && GetLastError() == ERROR_INVALID_HANDLE);
    }

    CHECK(UnmapViewOfFile(view));
    CHECK(CloseHandle(inherited) && CloseHandle(private_h) && CloseHandle(readonly) && CloseHandle(file));
    CHECK(GetFileAttributes(path) == INVALID_FILE_ATTRIBUTES); /* deleted on close */
    if (failures)
        return 1;
    _tprintf(TEXT("PARENT OK\n"));
    return 0;
}

int _tmain(int argc, _TCHAR *argv[])
{
    if (argc >= 2 && _tcscmp(argv[1], TEXT("child")) == 0)
        return child(argc, argv);
    if (argc >= 3 && _tcscmp(argv[1], TEXT("noinherit")) == 0)
        return noinherit(argv);
    if (argc >= 3 && _tcscmp(argv[1], TEXT("forkexec")) == 0)
        return forkexec(argv);
    if (argc >= 2 && _tcscmp(argv[1], TEXT("envcheck")) == 0) {
        _TCHAR value[16];
        return GetEnvironmentVariable(TEXT("FILEMAP_W32_TEST"), value, 16) == 2 && _tcscmp(value, TEXT("v1")) == 0 ? 45 : 1;
    }
    if (argc >= 2 && _tcscmp(argv[1], TEXT("sleep")) == 0)
        Sleep(INFINITE);
    if (argc >= 3 && _tcscmp(argv[1], TEXT("sleepms")) == 0) {
        Sleep((DWORD)_ttoi(argv[2]));
        return 0;
    }
    if (argc >= 3 && _tcscmp(argv[1], TEXT("exit")) == 0)
        ExitProcess((UINT)_ttoi(argv[2]));
    return parent(argv[0]);
}
