/* Handle inheritability and name lifetimes: a handle's inheritability decides exactly which of
 * our descriptors a child inherits (one per inheritable handle, none for the others), and a
 * name is freed by the last CloseHandle whatever views or sync states remain mapped and however
 * the handle's inheritability changed on the way (SetHandleInformation, DuplicateHandle,
 * CreateProcess). One program, several roles (argv[1]). Exit 0 and "LIFETIMES OK" on success. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#define CHECK_ROLE role
#include "check.h"


static const char *role = "parent";
static _TCHAR tag[32];

static void name(_TCHAR *out, const _TCHAR *what) { _stprintf(out, TEXT("Local\\lifetimes_%s_%s"), tag, what); }

static HANDLE parse_handle(const _TCHAR *s)
{
    unsigned long long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long long)(*s++ - '0');
    return (HANDLE)(ULONG_PTR)v;
}

static unsigned long long hv(HANDLE h) { return (unsigned long long)(ULONG_PTR)h; }

/* How many of this process's descriptors a child would inherit (no FD_CLOEXEC). */
static int inheritable_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        int fd;
        if (e->d_name[0] == '.')
            continue;
        fd = atoi(e->d_name);
        if (fd == dirfd(d))
            continue;
        if (fcntl(fd, F_GETFD) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void test_descriptors(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    _TCHAR n1[96], n2[96];
    HANDLE m, mi, x, xi, d1, d2, t;
    DWORD flags;
    int base = inheritable_fds();
    CHECK(base >= 0);
    name(n1, TEXT("fd_map"));
    name(n2, TEXT("fd_mutex"));

    /* non-inheritable handles leave nothing a child could inherit */
    m = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, n1);
    x = CreateMutex(NULL, FALSE, n2);
    CHECK(m && x);
    CHECK(inheritable_fds() == base);
    t = OpenFileMapping(FILE_MAP_READ, FALSE, n1);
    CHECK(t && inheritable_fds() == base);
    CHECK(CloseHandle(t));
    /* one inheritable descriptor per inheritable handle */
    mi = OpenFileMapping(FILE_MAP_ALL_ACCESS, TRUE, n1);
    xi = CreateMutex(&sa, FALSE, n2);
    CHECK(mi && xi && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK(inheritable_fds() == base + 2);
    CHECK(GetHandleInformation(mi, &flags) && flags == HANDLE_FLAG_INHERIT);
    /* SetHandleInformation both ways, on handles created either way */
    CHECK(SetHandleInformation(mi, HANDLE_FLAG_INHERIT, 0));
    CHECK(inheritable_fds() == base + 1);
    CHECK(SetHandleInformation(m, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(inheritable_fds() == base + 2);
    CHECK(SetHandleInformation(m, HANDLE_FLAG_INHERIT, 0) && SetHandleInformation(mi, HANDLE_FLAG_INHERIT, 1));
    CHECK(inheritable_fds() == base + 2);
    CHECK(SetHandleInformation(m, HANDLE_FLAG_INHERIT, 1) && SetHandleInformation(mi, HANDLE_FLAG_INHERIT, 0));
    CHECK(inheritable_fds() == base + 2);
    CHECK(SetHandleInformation(m, HANDLE_FLAG_INHERIT, 0));
    CHECK(inheritable_fds() == base + 1);
    /* DuplicateHandle: inheritable and not, from inheritable and non-inheritable sources */
    CHECK(DuplicateHandle(GetCurrentProcess(), x, GetCurrentProcess(), &d1, 0, TRUE, DUPLICATE_SAME_ACCESS));
    CHECK(DuplicateHandle(GetCurrentProcess(), xi, GetCurrentProcess(), &d2, SYNCHRONIZE, TRUE, 0));
    CHECK(inheritable_fds() == base + 3);
    CHECK(GetHandleInformation(d1, &flags) && flags == HANDLE_FLAG_INHERIT);
    CHECK(CloseHandle(d1) && CloseHandle(d2));
    CHECK(DuplicateHandle(GetCurrentProcess(), xi, GetCurrentProcess(), &d1, 0, FALSE, DUPLICATE_SAME_ACCESS));
    CHECK(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &d2, FILE_MAP_READ, FALSE, 0));
    CHECK(inheritable_fds() == base + 1);
    /* DUPLICATE_CLOSE_SOURCE keeps the value and applies the new inheritability */
    t = d2;
    CHECK(DuplicateHandle(GetCurrentProcess(), t, GetCurrentProcess(), &d2, 0, TRUE,
                          DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    CHECK(d2 == t && inheritable_fds() == base + 2);
    CHECK(DuplicateHandle(GetCurrentProcess(), t, GetCurrentProcess(), &d2, FILE_MAP_READ, FALSE, DUPLICATE_CLOSE_SOURCE));
    CHECK(d2 == t && inheritable_fds() == base + 1);
    CHECK(CloseHandle(d1) && CloseHandle(d2));
    /* a private handle duplicated (the duplicate shares its object), then made inheritable
     * and closed: its descriptor, still the duplicate's object's, must not stay inheritable */
    CHECK(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &d1, FILE_MAP_READ, FALSE, 0));
    CHECK(DuplicateHandle(GetCurrentProcess(), x, GetCurrentProcess(), &d2, 0, FALSE, DUPLICATE_SAME_ACCESS));
    CHECK(inheritable_fds() == base + 1);
    CHECK(SetHandleInformation(m, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(SetHandleInformation(x, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(inheritable_fds() == base + 3);
    CHECK(GetHandleInformation(d1, &flags) && flags == 0 && GetHandleInformation(d2, &flags) && flags == 0);
    CHECK(CloseHandle(m) && CloseHandle(x));
    CHECK(inheritable_fds() == base + 1);
    CHECK(!GetHandleInformation(m, &flags) && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(!GetHandleInformation(x, &flags) && GetLastError() == ERROR_INVALID_HANDLE);
    {
        /* the duplicates still work and hold the names */
        char *v = (char *)MapViewOfFile(d1, FILE_MAP_READ, 0, 0, 0);
        CHECK(v != NULL && UnmapViewOfFile(v));
        CHECK(WaitForSingleObject(d2, 0) == WAIT_OBJECT_0 && ReleaseMutex(d2));
        t = OpenFileMapping(FILE_MAP_READ, FALSE, n1);
        CHECK(t != NULL && CloseHandle(t));
        /* and can be made inheritable in turn */
        CHECK(SetHandleInformation(d1, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
        CHECK(inheritable_fds() == base + 2);
        CHECK(CloseHandle(d1) && CloseHandle(d2));
        CHECK(inheritable_fds() == base + 1);
    }
    /* the waitable handle of a thread */
    CHECK(CloseHandle(mi) && CloseHandle(xi));
    CHECK(inheritable_fds() == base);
    CHECK(OpenFileMapping(FILE_MAP_READ, FALSE, n1) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(OpenMutex(SYNCHRONIZE, FALSE, n2) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
}

static HANDLE waited, started;

static DWORD WINAPI waiter(LPVOID arg)
{
    (void)arg;
    SetEvent(started);
    /* the handle is closed while this wait holds the object; nobody sets it */
    return WaitForSingleObject(waited, 500);
}

static void test_close_while_waited(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE t;
    DWORD flags, code = 0;
    int base = inheritable_fds();
    waited = CreateEvent(&sa, TRUE, FALSE, NULL);
    started = CreateEvent(NULL, TRUE, FALSE, NULL);
    CHECK(waited && started && inheritable_fds() == base + 1);
    t = CreateThread(NULL, 0, waiter, NULL, 0, NULL);
    CHECK(t && WaitForSingleObject(started, 30000) == WAIT_OBJECT_0);
    Sleep(100);
    CHECK(CloseHandle(waited));
    /* the closed value is not adopted back as an inherited handle, nor inherited by children */
    CHECK(!GetHandleInformation(waited, &flags) && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(inheritable_fds() == base);
    CHECK(WaitForSingleObject(t, 30000) == WAIT_OBJECT_0 && GetExitCodeThread(t, &code));
    CHECK(code == WAIT_TIMEOUT || code == WAIT_FAILED);
    CHECK(CloseHandle(t) && CloseHandle(started));
}

static void test_names_freed(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    _TCHAR n[96];
    HANDLE h, h2, dup;
    char *view, *view2;

    /* a view mapped while the handle was private, then the handle made inheritable */
    name(n, TEXT("set_inherit"));
    h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, n);
    view = (char *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(h && view);
    view[0] = 'a';
    CHECK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    view2 = (char *)MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    CHECK(view2 && view2[0] == 'a');
    CHECK(CloseHandle(h));
    CHECK(OpenFileMapping(FILE_MAP_READ, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    view[1] = 'b';
    CHECK(view2[1] == 'b'); /* the views stay coherent */
    CHECK(UnmapViewOfFile(view) && UnmapViewOfFile(view2));

    /* an inheritable handle with a view, made private, duplicated inheritable, all closed */
    name(n, TEXT("dup_inherit"));
    h = CreateFileMapping(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 65536, n);
    h2 = OpenFileMapping(FILE_MAP_ALL_ACCESS, FALSE, n);
    CHECK(h && h2);
    view = (char *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    view2 = (char *)MapViewOfFile(h2, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view && view2);
    CHECK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0));
    CHECK(DuplicateHandle(GetCurrentProcess(), h2, GetCurrentProcess(), &dup, 0, TRUE, DUPLICATE_SAME_ACCESS));
    CHECK(CloseHandle(h) && CloseHandle(h2));
    view[0] = 'c';
    CHECK(view2[0] == 'c');
    h = OpenFileMapping(FILE_MAP_READ, FALSE, n); /* the duplicate still holds the name */
    CHECK(h != NULL && CloseHandle(h));
    CHECK(CloseHandle(dup));
    CHECK(OpenFileMapping(FILE_MAP_READ, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(UnmapViewOfFile(view) && UnmapViewOfFile(view2));

    /* a mutex used (its state mapped) while private, then made inheritable */
    name(n, TEXT("mutex"));
    h = CreateMutex(NULL, FALSE, n);
    CHECK(h && WaitForSingleObject(h, 0) == WAIT_OBJECT_0 && ReleaseMutex(h));
    CHECK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(WaitForSingleObject(h, 0) == WAIT_OBJECT_0 && ReleaseMutex(h)); /* same object */
    CHECK(CloseHandle(h));
    CHECK(OpenMutex(SYNCHRONIZE, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    /* ... and while this thread owns it: ownership is the thread's, not the handle's */
    h = CreateMutex(NULL, TRUE, n);
    CHECK(h && GetLastError() == 0);
    CHECK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK(WaitForSingleObject(h, 0) == WAIT_OBJECT_0); /* recursive acquire */
    CHECK(ReleaseMutex(h) && ReleaseMutex(h));
    CHECK(!ReleaseMutex(h) && GetLastError() == ERROR_NOT_OWNER);
    CHECK(WaitForSingleObject(h, 0) == WAIT_OBJECT_0 && ReleaseMutex(h));
    CHECK(CloseHandle(h));
    CHECK(OpenMutex(SYNCHRONIZE, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);

    /* an event created inheritable, used, closed */
    name(n, TEXT("event"));
    h = CreateEvent(&sa, TRUE, FALSE, n);
    CHECK(h && SetEvent(h) && WaitForSingleObject(h, 0) == WAIT_OBJECT_0);
    CHECK(CloseHandle(h));
    CHECK(OpenEvent(SYNCHRONIZE, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
}

/* child: holds an inherited mapping (made inheritable after a view) until told to let go */
static int holder(_TCHAR **argv)
{
    HANDLE map = parse_handle(argv[2]), ready = parse_handle(argv[3]), go = parse_handle(argv[4]);
    int read_only = _tcscmp(argv[5], TEXT("ro")) == 0;
    char *view;
    role = "holder";
    view = (char *)MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0);
    CHECK(view != NULL && view[0] == 'p');
    if (read_only) {
        CHECK(MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0) == NULL && GetLastError() == ERROR_ACCESS_DENIED);
    } else {
        char *w = (char *)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
        CHECK(w != NULL && UnmapViewOfFile(w));
    }
    CHECK(SetEvent(ready));
    CHECK(WaitForSingleObject(go, 30000) == WAIT_OBJECT_0);
    CHECK(CloseHandle(map)); /* the view stays; the name goes with this last handle */
    CHECK(view[0] == 'p');
    CHECK(SetEvent(ready));
    CHECK(WaitForSingleObject(go, 30000) == WAIT_OBJECT_0);
    return failures ? 1 : 0;
}

/* `own`: the handle the child inherits is the private handle itself (it had a view, then was
 * made inheritable), not a read-only duplicate of it. */
static void test_child_holds_the_name(const _TCHAR *self, int own)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    _TCHAR n[96], cmd[1024];
    HANDLE h, ro, ready, go, probe;
    char *view;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    DWORD code = 1;

    name(n, own ? TEXT("held_own") : TEXT("held"));
    h = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, n);
    view = (char *)MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(h && view);
    view[0] = 'p';
    if (own) {
        /* the private handle that has a view, made inheritable itself */
        ro = h;
        CHECK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &h, 0, FALSE, DUPLICATE_SAME_ACCESS));
    } else {
        /* a read-only inheritable duplicate of a private handle that has a view */
        CHECK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &ro, FILE_MAP_READ, FALSE, 0));
    }
    CHECK(SetHandleInformation(ro, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    ready = CreateEvent(&sa, FALSE, FALSE, NULL);
    go = CreateEvent(&sa, FALSE, FALSE, NULL);
    CHECK(ready && go);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf(cmd, TEXT("\"%s\" holder %llu %llu %llu %s"), self, hv(ro), hv(ready), hv(go), own ? TEXT("rw") : TEXT("ro"));
    if (!CreateProcess(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        CHECK(!"CreateProcess");
        return;
    }
    CHECK(CloseHandle(pi.hThread));
    CHECK(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0);
    /* the parent lets go of everything: the child's handle keeps the name */
    CHECK(CloseHandle(ro) && CloseHandle(h));
    probe = OpenFileMapping(FILE_MAP_READ, FALSE, n);
    CHECK(probe != NULL && CloseHandle(probe));
    CHECK(SetEvent(go));
    CHECK(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0);
    /* the child closed its handle (its view remains, and so does ours): the name is free */
    CHECK(OpenFileMapping(FILE_MAP_READ, FALSE, n) == NULL && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(SetEvent(go));
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 0);
    CHECK(CloseHandle(pi.hProcess) && CloseHandle(ready) && CloseHandle(go));
    CHECK(view[0] == 'p' && UnmapViewOfFile(view));
}

int _tmain(int argc, _TCHAR *argv[])
{
    if (argc >= 6 && _tcscmp(argv[1], TEXT("holder")) == 0)
        return holder(argv);
    _stprintf(tag, TEXT("%u"), (unsigned)GetCurrentProcessId());
    test_descriptors();
    test_names_freed();
    test_close_while_waited();
    test_child_holds_the_name(argv[0], 0);
    test_child_holds_the_name(argv[0], 1);
    if (failures)
        return 1;
    _tprintf(TEXT("LIFETIMES OK\n"));
    return 0;
}
