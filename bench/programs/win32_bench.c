/* The Win32 side of the comparison harness (bench/README in BENCHMARKS.md).
 *
 * One source, two builds: against filemap's windows.h linked to libfilemap_win32 (Linux), and
 * with mingw-w64 for Wine. `win32_bench FIGURE [ARG]` runs one figure for about
 * BENCH_BUDGET_MS (default 200) and prints `ns_per_op` (one number) on stdout; figures it does
 * not have print `n/a`. Roles used by the figures themselves start with `child-`.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <time.h>
#endif

static double now_ns(void)
{
#ifdef _WIN32
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e9 / (double)freq.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
#endif
}

static void die(const char *what)
{
    fprintf(stderr, "win32_bench: %s failed (error %lu)\n", what, (unsigned long)GetLastError());
    exit(2);
}

#define CHECK(cond, what) do { if (!(cond)) die(what); } while (0)

static double budget_ns(void)
{
    const char *b = getenv("BENCH_BUDGET_MS");
    return (b ? atof(b) : 200.0) * 1e6;
}

/* Runs `op(i)` in growing batches until one batch takes a quarter of the budget; returns the
 * ns per call of that batch. */
typedef void (*op_fn)(unsigned long i);
static double measure(op_fn op)
{
    double budget = budget_ns() / 4, per = 0;
    unsigned long batch = 1, base = 0;
    const char *fixed = getenv("BENCH_ITERS"); /* exact count, for instruction counting */
    if (fixed) {
        unsigned long n = strtoul(fixed, NULL, 10);
        double t0 = now_ns();
        for (unsigned long i = 0; i < n; i++)
            op(i);
        return n ? (now_ns() - t0) / (double)n : 0;
    }
    for (;;) {
        double t0 = now_ns();
        for (unsigned long i = 0; i < batch; i++)
            op(base + i);
        double dt = now_ns() - t0;
        base += batch;
        per = dt / (double)batch;
        if (dt >= budget)
            return per;
        batch = dt < budget / 16 ? batch * 8 : (unsigned long)(budget / (per > 1 ? per : 1)) + 1;
    }
}

static char name_buf[128];
static const char *uniq(const char *what)
{
    static char names[8][128];
    static int n;
    char *b = names[n++ % 8];
    snprintf(b, 128, "Local\\bench-%s-%lu", what, (unsigned long)GetCurrentProcessId());
    return b;
}

#define PAGE_SZ 4096
/* ---- mapping cycles ---------------------------------------------------------------------- */
static const char *map_name;
static void op_create_cycle(unsigned long i)
{
    (void)i;
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PAGE_SZ, map_name);
    CHECK(h != NULL && GetLastError() != ERROR_ALREADY_EXISTS, "CreateFileMapping");
    volatile char *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(p != NULL, "MapViewOfFile");
    p[0] = 1;
    CHECK(UnmapViewOfFile((void *)p), "UnmapViewOfFile");
    CHECK(CloseHandle(h), "CloseHandle");
}
static void op_open_cycle(unsigned long i)
{
    (void)i;
    HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, map_name);
    CHECK(h != NULL, "OpenFileMapping");
    volatile char *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(p != NULL, "MapViewOfFile");
    p[0] = 1;
    CHECK(UnmapViewOfFile((void *)p), "UnmapViewOfFile");
    CHECK(CloseHandle(h), "CloseHandle");
}

/* ---- sync, uncontended ------------------------------------------------------------------- */
static HANDLE obj;
static HANDLE many[64];
static void op_mutex(unsigned long i)
{
    (void)i;
    CHECK(WaitForSingleObject(obj, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(mutex)");
    CHECK(ReleaseMutex(obj), "ReleaseMutex");
}
static void op_semaphore(unsigned long i)
{
    (void)i;
    CHECK(ReleaseSemaphore(obj, 1, NULL), "ReleaseSemaphore");
    CHECK(WaitForSingleObject(obj, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(semaphore)");
}
static void op_event(unsigned long i)
{
    (void)i;
    CHECK(SetEvent(obj), "SetEvent");
    CHECK(WaitForSingleObject(obj, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(event)");
}
static void op_wait_any_64(unsigned long i)
{
    (void)i;
    CHECK(SetEvent(many[63]), "SetEvent");
    CHECK(WaitForMultipleObjects(64, many, FALSE, INFINITE) == WAIT_OBJECT_0 + 63, "WaitForMultipleObjects");
}

/* ---- bandwidth and faults ---------------------------------------------------------------- */
#define COPY_BYTES (1 << 20)
static char *copy_src, *copy_dst;
static void op_copy(unsigned long i)
{
    (void)i;
    memcpy(copy_dst, copy_src, COPY_BYTES);
    __asm__ __volatile__("" ::: "memory");
}
#define TOUCH_MB 16
static void op_first_touch(unsigned long i)
{
    (void)i;
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, TOUCH_MB << 20, map_name);
    CHECK(h != NULL, "CreateFileMapping");
    volatile char *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(p != NULL, "MapViewOfFile");
    for (size_t off = 0; off < ((size_t)TOUCH_MB << 20); off += PAGE_SZ)
        p[off] = 1;
    CHECK(UnmapViewOfFile((void *)p), "UnmapViewOfFile");
    CHECK(CloseHandle(h), "CloseHandle");
}

/* ---- processes --------------------------------------------------------------------------- */
static HANDLE start_child(const char *args)
{
    char self[1024], cmd[1400];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    CHECK(GetModuleFileNameA(NULL, self, sizeof self) > 0, "GetModuleFileName");
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self, args);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    CHECK(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), "CreateProcess");
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static double fig_ping_pong(void)
{
    char args[300];
    const char *ping = uniq("ping"), *pong = uniq("pong");
    HANDLE a = CreateEventA(NULL, FALSE, FALSE, ping), b = CreateEventA(NULL, FALSE, FALSE, pong);
    CHECK(a && b, "CreateEvent");
    snprintf(args, sizeof args, "child-pong %s %s", ping, pong);
    HANDLE child = start_child(args);
    /* warm up: the child answers once it is running */
    CHECK(SetEvent(a), "SetEvent");
    CHECK(WaitForSingleObject(b, 30000) == WAIT_OBJECT_0, "first pong");
    double budget = budget_ns(), t0 = now_ns(), dt;
    unsigned long n = 0;
    do {
        for (int k = 0; k < 100; k++) {
            SetEvent(a);
            WaitForSingleObject(b, INFINITE);
        }
        n += 100;
        dt = now_ns() - t0;
    } while (dt < budget);
    /* stop: a round with the stop flag (the child exits on a NULL wait result) */
    CHECK(TerminateProcess(child, 0), "TerminateProcess");
    WaitForSingleObject(child, 30000);
    CloseHandle(child);
    CloseHandle(a);
    CloseHandle(b);
    return dt / (double)n;
}
static int child_pong(const char *ping, const char *pong)
{
    HANDLE a = OpenEventA(EVENT_ALL_ACCESS, FALSE, ping), b = OpenEventA(EVENT_ALL_ACCESS, FALSE, pong);
    CHECK(a && b, "OpenEvent");
    for (;;) {
        if (WaitForSingleObject(a, 60000) != WAIT_OBJECT_0)
            return 1;
        SetEvent(b);
    }
}

/* N processes take and release a named mutex, incrementing a shared counter under it, until
 * the parent raises the stop flag after the budget; the figure is wall time / acquisitions. */
struct contend_page {
    volatile long counter;
    volatile long stop;
    volatile long done[64];
};
static double fig_contended(int n)
{
    char args[300];
    const char *mname = uniq("cmutex"), *gname = uniq("cgo"), *sname = uniq("cshm");
    HANDLE m = CreateMutexA(NULL, FALSE, mname), go = CreateEventA(NULL, TRUE, FALSE, gname);
    HANDLE shm = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PAGE_SZ, sname);
    CHECK(m && go && shm, "contended setup");
    struct contend_page *pg = MapViewOfFile(shm, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(pg != NULL, "MapViewOfFile");
    HANDLE kids[64];
    for (int i = 0; i < n; i++) {
        snprintf(args, sizeof args, "child-contend %s %s %s %d", mname, gname, sname, i);
        kids[i] = start_child(args);
    }
    Sleep(300); /* let them all reach the start line */
    double t0 = now_ns();
    CHECK(SetEvent(go), "SetEvent(go)");
    while (now_ns() - t0 < budget_ns())
        Sleep(5);
    pg->stop = 1;
    long total = 0;
    for (int i = 0; i < n; i++) {
        CHECK(WaitForSingleObject(kids[i], 600000) == WAIT_OBJECT_0, "child exit");
        CloseHandle(kids[i]);
        total += pg->done[i];
    }
    double dt = now_ns() - t0;
    CHECK(pg->counter == total && total > 0, "counter (lost updates under the mutex)");
    UnmapViewOfFile(pg);
    CloseHandle(shm);
    CloseHandle(go);
    CloseHandle(m);
    return dt / (double)total;
}
static int child_contend(const char *mname, const char *gname, const char *sname, int me)
{
    HANDLE m = OpenMutexA(MUTEX_ALL_ACCESS, FALSE, mname), go = OpenEventA(SYNCHRONIZE, FALSE, gname);
    HANDLE shm = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, sname);
    CHECK(m && go && shm, "child open");
    struct contend_page *pg = MapViewOfFile(shm, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(pg != NULL, "child MapViewOfFile");
    CHECK(WaitForSingleObject(go, 60000) == WAIT_OBJECT_0, "child start");
    long done = 0;
    while (!pg->stop) {
        DWORD r = WaitForSingleObject(m, INFINITE);
        CHECK(r == WAIT_OBJECT_0, "child WaitForSingleObject(mutex)");
        pg->counter = pg->counter + 1;
        ReleaseMutex(m);
        done++;
    }
    pg->done[me] = done;
    return 0;
}

/* Holds `count` live named mappings (Local\bench-live-<tag>-<i>) until stdin closes. */
static int child_hold(const char *tag, long start, long count)
{
    char name[160];
    for (long i = start; i < start + count; i++) {
        snprintf(name, sizeof name, "Local\\bench-live-%s-%ld", tag, i);
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PAGE_SZ, name);
        CHECK(h != NULL, "CreateFileMapping (hold)");
    }
    printf("ready\n");
    fflush(stdout);
    char buf[16];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: win32_bench FIGURE\n");
        return 2;
    }
    const char *fig = argv[1];
    if (!strcmp(fig, "child-pong") && argc == 4)
        return child_pong(argv[2], argv[3]);
    if (!strcmp(fig, "child-contend") && argc == 6)
        return child_contend(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (!strcmp(fig, "child-hold") && argc == 5)
        return child_hold(argv[2], atol(argv[3]), atol(argv[4]));
    strcpy(name_buf, uniq("map"));
    map_name = name_buf;
    double r;
    if (!strcmp(fig, "create_cycle")) {
        r = measure(op_create_cycle);
    } else if (!strcmp(fig, "open_cycle")) {
        HANDLE keep = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PAGE_SZ, map_name);
        CHECK(keep != NULL, "CreateFileMapping");
        r = measure(op_open_cycle);
        CloseHandle(keep);
    } else if (!strcmp(fig, "mutex")) {
        obj = CreateMutexA(NULL, FALSE, uniq("mutex"));
        CHECK(obj != NULL, "CreateMutex");
        r = measure(op_mutex);
    } else if (!strcmp(fig, "semaphore")) {
        obj = CreateSemaphoreA(NULL, 0, 1000, uniq("sem"));
        CHECK(obj != NULL, "CreateSemaphore");
        r = measure(op_semaphore);
    } else if (!strcmp(fig, "event")) {
        obj = CreateEventA(NULL, FALSE, FALSE, uniq("event"));
        CHECK(obj != NULL, "CreateEvent");
        r = measure(op_event);
    } else if (!strcmp(fig, "wait_any_64")) {
        for (int i = 0; i < 64; i++) {
            char n[160];
            snprintf(n, sizeof n, "%s-%d", uniq("any"), i);
            many[i] = CreateEventA(NULL, FALSE, FALSE, n);
            CHECK(many[i] != NULL, "CreateEvent");
        }
        r = measure(op_wait_any_64);
    } else if (!strcmp(fig, "copy_view")) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, COPY_BYTES, map_name);
        CHECK(h != NULL, "CreateFileMapping");
        copy_dst = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        CHECK(copy_dst != NULL, "MapViewOfFile");
        copy_src = malloc(COPY_BYTES);
        memset(copy_src, 7, COPY_BYTES);
        r = measure(op_copy);
    } else if (!strcmp(fig, "first_touch")) {
        r = measure(op_first_touch) / TOUCH_MB;
    } else if (!strcmp(fig, "ping_pong")) {
        r = fig_ping_pong();
    } else if (!strncmp(fig, "contended_", 10)) {
        r = fig_contended(atoi(fig + 10));
    } else {
        printf("n/a\n");
        return 0;
    }
    printf("%.1f\n", r);
    return 0;
}
