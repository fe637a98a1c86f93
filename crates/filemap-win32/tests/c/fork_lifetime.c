/* fork() through the Win32 face: after fork the parent and the child each hold every handle the
 * parent held (as a child started with inherited handles does), the name lives until the last of
 * them closes it or exits, and views stay coherent. Both orders, exit without CloseHandle, and
 * fork + exec (non-inheritable handles close at exec; the parent's stays). Prints "FORK OK". */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

/* 1: the name resolves and holds `expect`; 0: not found; -1: found with other contents. */
static int named(const char *name, const char *expect)
{
    HANDLE h = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    char *v;
    int ok;
    if (h == NULL)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -2;
    v = (char *)MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    ok = v != NULL && strcmp(v, expect) == 0;
    if (v != NULL)
        UnmapViewOfFile(v);
    CloseHandle(h);
    return ok ? 1 : -1;
}

static HANDLE make(char *name, const char *tag, char **view, const char *text)
{
    HANDLE h;
    sprintf(name, "Local\\fork-%s-%d", tag, (int)getpid());
    h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    CHECK(h != NULL && GetLastError() == 0);
    *view = (char *)MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(*view != NULL);
    strcpy(*view, text);
    return h;
}

int main(void)
{
    char name[96], *v, c = 0, r = 0;
    HANDLE h;
    pid_t p;
    int go[2], done[2];

    /* 1. The child closes its copy first: the parent's handle keeps the name. */
    h = make(name, "child-first", &v, "shared");
    p = fork();
    if (p == 0) {
        CloseHandle(h);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    CHECK(named(name, "shared") == 1);
    CloseHandle(h);
    CHECK(named(name, "shared") == 0);
    UnmapViewOfFile(v);

    /* 2. The parent closes first: the child's copy keeps the name; views stay coherent. */
    h = make(name, "parent-first", &v, "before");
    CHECK(pipe(go) == 0 && pipe(done) == 0);
    p = fork();
    if (p == 0) {
        int ok;
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        ok = named(name, "before") == 1;
        strcpy(v, "from child");
        if (write(done[1], ok ? "1" : "0", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(3);
        CloseHandle(h);
        _exit(0);
    }
    CloseHandle(h);
    CHECK(write(go[1], "x", 1) == 1 && read(done[0], &r, 1) == 1);
    CHECK(r == '1');
    CHECK(strcmp(v, "from child") == 0);
    CHECK(named(name, "from child") == 1);
    CHECK(write(go[1], "x", 1) == 1);
    waitpid(p, NULL, 0);
    CHECK(named(name, "from child") == 0);
    UnmapViewOfFile(v);

    /* 3. The parent closes first and the child exits without CloseHandle: the name dies with
     *    the child. */
    h = make(name, "child-exits", &v, "held");
    CHECK(pipe(go) == 0);
    p = fork();
    if (p == 0) {
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        _exit(0);
    }
    CloseHandle(h);
    CHECK(named(name, "held") == 1);
    CHECK(write(go[1], "x", 1) == 1);
    waitpid(p, NULL, 0);
    CHECK(named(name, "held") == 0);
    UnmapViewOfFile(v);

    /* 4. fork + exec: the child's copy of a non-inheritable handle closes at exec. */
    h = make(name, "exec", &v, "kept");
    p = fork();
    if (p == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
    CHECK(named(name, "kept") == 1);
    CloseHandle(h);
    CHECK(named(name, "kept") == 0);
    UnmapViewOfFile(v);

    printf(failures ? "FORK FAILED\n" : "FORK OK\n");
    return failures != 0;
}
