/* CloseHandle reports a last close that could not run to its end: an inheritable handle (whose
 * open file description a child may share) closed with no descriptor left to test whether other
 * holders remain fails with ERROR_TOO_MANY_OPEN_FILES, for a mapping and for each sync object
 * type, instead of returning TRUE and silently leaving the object behind. The handle is gone
 * either way; the dead object is reclaimed by the next open of its name. A close that is not
 * the last (another handle of the process shares the object) and closes with descriptors to
 * spare still succeed. Prints "CLOSE OK". */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "check.h"

static int filler[65536];
static int nfill;

/* Uses every descriptor left. */
static void fill(void)
{
    int fd;
    nfill = 0;
    while (nfill < 65536 && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
        filler[nfill++] = fd;
}

static void unfill(void)
{
    while (nfill > 0)
        close(filler[--nfill]);
}

/* The kinds of objects, created inheritable under `name`. */
static HANDLE make(int kind, const char *name)
{
    SECURITY_ATTRIBUTES sa;
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    switch (kind) {
    case 0: return CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, name);
    case 1: return CreateMutexA(&sa, FALSE, name);
    case 2: return CreateSemaphoreA(&sa, 0, 1, name);
    case 3: return CreateEventA(&sa, TRUE, FALSE, name);
    default: return CreateWaitableTimerA(&sa, TRUE, name);
    }
}

/* 1 if `name` resolves to an object of `kind`, 0 if not found, -1 on anything else. */
static int named(int kind, const char *name)
{
    HANDLE h;
    switch (kind) {
    case 0: h = OpenFileMappingA(FILE_MAP_READ, FALSE, name); break;
    case 1: h = OpenMutexA(SYNCHRONIZE, FALSE, name); break;
    case 2: h = OpenSemaphoreA(SYNCHRONIZE, FALSE, name); break;
    case 3: h = OpenEventA(SYNCHRONIZE, FALSE, name); break;
    default: h = OpenWaitableTimerA(SYNCHRONIZE, FALSE, name); break;
    }
    if (h == NULL)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
    CloseHandle(h);
    return 1;
}

int main(void)
{
    static const char *kinds[] = { "mapping", "mutex", "semaphore", "event", "timer" };
    char name[96];
    int kind;
    for (kind = 0; kind < 5; kind++) {
        HANDLE h, dup;
        BOOL ok;
        DWORD err;

        /* The last handle, closed at the descriptor limit: FALSE and the code. */
        sprintf(name, "Local\\close-limit-%s-%d", kinds[kind], (int)getpid());
        h = make(kind, name);
        CHECK(h != NULL);
        fill();
        SetLastError(0);
        ok = CloseHandle(h);
        err = GetLastError();
        unfill();
        if (ok || err != ERROR_TOO_MANY_OPEN_FILES)
            printf("FAIL %s: last close at the limit returned %d, last error %u\n", kinds[kind], ok, (unsigned)err);
        CHECK(!ok && err == ERROR_TOO_MANY_OPEN_FILES);
        CHECK(CloseHandle(h) == FALSE && GetLastError() == ERROR_INVALID_HANDLE); /* it is gone anyway */
        CHECK(named(kind, name) == 0); /* the dead object is not found (and reclaimed) */

        /* Not the last reference of the process: nothing to decide, so it succeeds. */
        sprintf(name, "Local\\close-limit2-%s-%d", kinds[kind], (int)getpid());
        h = make(kind, name);
        CHECK(h != NULL);
        CHECK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, TRUE, DUPLICATE_SAME_ACCESS));
        CHECK(CloseHandle(h));
        CHECK(named(kind, name) == 1);
        CHECK(CloseHandle(dup)); /* with descriptors to spare, the last close succeeds */
        CHECK(named(kind, name) == 0);
    }
    if (failures == 0)
        printf("CLOSE OK\n");
    return failures != 0;
}
