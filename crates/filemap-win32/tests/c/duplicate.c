/* DuplicateHandle between processes: into a child started a moment ago (reduced access,
 * inheritability), out of a child (DUPLICATE_CLOSE_SOURCE), and refused into or out of a
 * process of another user. Children are this program started with CreateProcess. */
#include <windows.h>
#include <grp.h>
#include <stdint.h>
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *role = "parent";
#define CHECK_ROLE role
#include "check.h"

typedef unsigned long long u64;

static char self_path[1024];

static HANDLE start(const char *args, PROCESS_INFORMATION *pi)
{
    char cmd[2048];
    STARTUPINFOA si;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self_path, args);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, pi)) {
        printf("CreateProcess failed (%u)\n", (unsigned)GetLastError());
        failures++;
        return NULL;
    }
    CloseHandle(pi->hThread);
    return pi->hProcess;
}

static DWORD finish(HANDLE process)
{
    DWORD code = 0xffffffff;
    CHECK(WaitForSingleObject(process, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(process, &code));
    CloseHandle(process);
    return code;
}

static u64 *open_vals(unsigned parent)
{
    char name[64];
    snprintf(name, sizeof name, "Local\\dupvals-%u", parent);
    HANDLE m = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
    CHECK(m != NULL);
    return m ? (u64 *)MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
}

static HANDLE named_event(const char *tag, unsigned parent)
{
    char name[64];
    snprintf(name, sizeof name, "Local\\dup%s-%u", tag, parent);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, name);
    CHECK(e != NULL);
    return e;
}

/* Into: the handles the parent duplicated into us work, with the access and flags asked. */
static int child_into(unsigned parent)
{
    u64 *vals = open_vals(parent);
    HANDLE go = named_event("go", parent);
    CHECK(vals && WaitForSingleObject(go, 20000) == WAIT_OBJECT_0);
    HANDLE hm = (HANDLE)(ULONG_PTR)vals[0], he = (HANDLE)(ULONG_PTR)vals[1];
    char *v = (char *)MapViewOfFile(hm, FILE_MAP_READ, 0, 0, 0);
    CHECK(v && strcmp(v, "hello") == 0);
    CHECK_ERR(MapViewOfFile(hm, FILE_MAP_WRITE, 0, 0, 0) == NULL, ERROR_ACCESS_DENIED);
    DWORD flags = 99;
    CHECK(GetHandleInformation(hm, &flags) && flags == 0);
    CHECK(GetHandleInformation(he, &flags) && flags == HANDLE_FLAG_INHERIT);
    /* A file handle shares the parent's file (and its position). */
    HANDLE hf = (HANDLE)(ULONG_PTR)vals[3];
    char buf[8] = {0};
    DWORD got = 0;
    CHECK(SetFilePointer(hf, 0, NULL, FILE_BEGIN) == 0);
    CHECK(ReadFile(hf, buf, 5, &got, NULL) && got == 5 && memcmp(buf, "file!", 5) == 0);
    CHECK_ERR(!WriteFile(hf, "x", 1, &got, NULL), ERROR_ACCESS_DENIED);
    CHECK(SetEvent(he));
    return failures != 0;
}

/* Out: the parent pulls our mapping out and closes ours. */
static int child_out(unsigned parent)
{
    u64 *vals = open_vals(parent);
    HANDLE ready = named_event("ready", parent), go = named_event("go2", parent);
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL);
    char *v = (char *)MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(m && v);
    strcpy(v, "fromchild");
    vals[2] = (u64)(ULONG_PTR)m;
    CHECK(SetEvent(ready));
    CHECK(WaitForSingleObject(go, 20000) == WAIT_OBJECT_0);
    DWORD flags;
    CHECK_ERR(!GetHandleInformation(m, &flags), ERROR_INVALID_HANDLE);
    CHECK(strcmp(v, "from parent") == 0); /* our view still sees the object the parent writes */
    return failures != 0;
}

/* Third: a handle the parent moved here from another child (a third-party duplicate). */
static int child_third(unsigned parent)
{
    u64 *vals = open_vals(parent);
    HANDLE go = named_event("go3", parent);
    CHECK(vals && WaitForSingleObject(go, 20000) == WAIT_OBJECT_0);
    char *v = (char *)MapViewOfFile((HANDLE)(ULONG_PTR)vals[4], FILE_MAP_WRITE, 0, 0, 0);
    CHECK(v && strcmp(v, "fromchild") == 0);
    if (v)
        strcpy(v, "from parent");
    return failures != 0;
}

/* Denied: as another user, neither into nor out of the (root) parent. */
static int child_denied(unsigned parent, u64 parent_handle)
{
    gid_t none[1] = {0};
    if (setgroups(0, none) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        return 3;
    HANDLE hp = OpenProcess(PROCESS_DUP_HANDLE, FALSE, parent);
    CHECK(hp != NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL), out = NULL;
    CHECK(ev != NULL);
    CHECK_ERR(!DuplicateHandle(GetCurrentProcess(), ev, hp, &out, 0, FALSE, DUPLICATE_SAME_ACCESS), ERROR_ACCESS_DENIED);
    CHECK_ERR(!DuplicateHandle(hp, (HANDLE)(ULONG_PTR)parent_handle, GetCurrentProcess(), &out, 0, FALSE,
                               DUPLICATE_SAME_ACCESS),
              ERROR_ACCESS_DENIED);

    /* Around the API: ask the parent's receiver directly. It refuses (status 5) and sends no
     * descriptor. */
    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "filemap-win32-dup/%u", parent);
    CHECK(s >= 0 && connect(s, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
    unsigned char msg[32];
    memset(msg, 0, sizeof msg);
    uint32_t words[5] = {0x48444d46u, 2, 0, 0, DUPLICATE_SAME_ACCESS};
    memcpy(msg, words, sizeof words);
    memcpy(msg + 24, &parent_handle, 8);
    CHECK(send(s, msg, sizeof msg, 0) == (ssize_t)sizeof msg);
    unsigned char reply[32];
    char control[64];
    struct iovec iov = {reply, sizeof reply};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    CHECK(recvmsg(s, &mh, 0) == (ssize_t)sizeof reply);
    uint32_t status;
    memcpy(&status, reply, 4);
    CHECK(status == ERROR_ACCESS_DENIED);
    CHECK(mh.msg_controllen == 0); /* no descriptor came back */
    close(s);
    return failures != 0;
}

/* The library's receiver thread blocks SIGINT and SIGALRM, so they reach the program's threads. */
static int find_receiver(void);
static void receiver_blocks_signals(void)
{
    /* The thread names itself once it runs: give it a moment. */
    for (int i = 0; i < 200 && !find_receiver(); i++)
        Sleep(10);
    CHECK(find_receiver());
}

static int find_receiver(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], line[256] = {0};
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int is_receiver = fgets(line, sizeof line, f) && strncmp(line, "filemap-dup", 11) == 0;
        fclose(f);
        if (!is_receiver)
            continue;
        found = 1;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "SigBlk:", 7) == 0) {
                unsigned long long blocked = strtoull(line + 7, NULL, 16);
                CHECK(blocked & (1ull << (SIGINT - 1)));
                CHECK(blocked & (1ull << (SIGALRM - 1)));
            }
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

int main(int argc, char **argv)
{
    snprintf(self_path, sizeof self_path, "%s", argv[0]);
    if (argc > 2 && strcmp(argv[1], "into") == 0)
        return role = "into", child_into((unsigned)atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "out") == 0)
        return role = "out", child_out((unsigned)atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "third") == 0)
        return role = "third", child_third((unsigned)atoi(argv[2]));
    if (argc > 3 && strcmp(argv[1], "denied") == 0)
        return role = "denied", child_denied((unsigned)atoi(argv[2]), strtoull(argv[3], NULL, 10));

    receiver_blocks_signals();
    unsigned me = (unsigned)GetCurrentProcessId();
    char name[64], args[128];
    snprintf(name, sizeof name, "Local\\dupvals-%u", me);
    HANDLE vals_map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    u64 *vals = (u64 *)MapViewOfFile(vals_map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(vals != NULL);
    HANDLE go = named_event("go", me), ready = named_event("ready", me), go2 = named_event("go2", me);

    /* Into a child started a moment ago, with reduced access and with inheritability. */
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL);
    char *v = (char *)MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(m && v);
    strcpy(v, "hello");
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    PROCESS_INFORMATION pi;
    snprintf(args, sizeof args, "into %u", me);
    HANDLE child = start(args, &pi);
    HANDLE hm = NULL, he = NULL;
    CHECK(DuplicateHandle(GetCurrentProcess(), m, child, &hm, FILE_MAP_READ, FALSE, 0));
    CHECK(DuplicateHandle(GetCurrentProcess(), e, child, &he, 0, TRUE, DUPLICATE_SAME_ACCESS));
    CHECK(hm != NULL && he != NULL && ((ULONG_PTR)hm & 3) == 0);
    HANDLE ro = NULL, nothing = NULL;
    /* A process handle without PROCESS_DUP_HANDLE does not do. */
    HANDLE weak = OpenProcess(SYNCHRONIZE, FALSE, pi.dwProcessId);
    CHECK(weak != NULL);
    CHECK_ERR(!DuplicateHandle(GetCurrentProcess(), e, weak, &nothing, 0, FALSE, DUPLICATE_SAME_ACCESS),
              ERROR_ACCESS_DENIED);
    CloseHandle(weak);
    CHECK(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &ro, FILE_MAP_READ, FALSE, 0));
    CHECK_ERR(!DuplicateHandle(GetCurrentProcess(), ro, child, &nothing, FILE_MAP_WRITE, FALSE, 0), ERROR_ACCESS_DENIED);
    /* A file, duplicated read-only. */
    char path[1100];
    snprintf(path, sizeof path, "%s.dupfile", self_path);
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD wrote = 0;
    CHECK(f != INVALID_HANDLE_VALUE && WriteFile(f, "file!", 5, &wrote, NULL) && wrote == 5);
    HANDLE hf = NULL;
    CHECK(DuplicateHandle(GetCurrentProcess(), f, child, &hf, GENERIC_READ, FALSE, 0));
    vals[3] = (u64)(ULONG_PTR)hf;
    vals[0] = (u64)(ULONG_PTR)hm;
    vals[1] = (u64)(ULONG_PTR)he;
    CHECK(SetEvent(go));
    CHECK(WaitForSingleObject(e, 20000) == WAIT_OBJECT_0);
    CHECK(finish(child) == 0);
    CHECK(SetFilePointer(f, 0, NULL, FILE_CURRENT) == 5); /* the child moved the shared position back to 5 */
    CloseHandle(f);
    DeleteFileA(path);

    /* Out of a child, closing its handle. */
    snprintf(args, sizeof args, "out %u", me);
    child = start(args, &pi);
    CHECK(WaitForSingleObject(ready, 20000) == WAIT_OBJECT_0);
    HANDLE pulled = NULL;
    CHECK(DuplicateHandle(child, (HANDLE)(ULONG_PTR)vals[2], GetCurrentProcess(), &pulled, 0, FALSE,
                          DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    char *pv = pulled ? (char *)MapViewOfFile(pulled, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    CHECK(pv && strcmp(pv, "fromchild") == 0);
    if (pv)
        strcpy(pv, "from parent");
    CHECK(SetEvent(go2));
    CHECK(finish(child) == 0);

    /* From one child into another (a third-party duplicate), closing the source. */
    CHECK(ResetEvent(ready) && ResetEvent(go2));
    vals[2] = 0;
    snprintf(args, sizeof args, "out %u", me);
    HANDLE a = start(args, &pi);
    CHECK(WaitForSingleObject(ready, 20000) == WAIT_OBJECT_0);
    snprintf(args, sizeof args, "third %u", me);
    HANDLE b = start(args, &pi);
    HANDLE in_b = NULL;
    CHECK(DuplicateHandle(a, (HANDLE)(ULONG_PTR)vals[2], b, &in_b, 0, FALSE, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    vals[4] = (u64)(ULONG_PTR)in_b;
    HANDLE go3 = named_event("go3", me);
    CHECK(SetEvent(go3));
    CHECK(finish(b) == 0);
    CHECK(SetEvent(go2));
    CHECK(finish(a) == 0);

    /* Another user may not duplicate into or out of us. */
    snprintf(args, sizeof args, "denied %u %llu", me, (u64)(ULONG_PTR)m);
    child = start(args, &pi);
    CHECK(finish(child) == 0);

    if (failures == 0)
        printf("DUPLICATE OK\n");
    return failures != 0;
}
