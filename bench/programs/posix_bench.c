/* The raw-Linux baselines of the comparison harness (see BENCHMARKS.md).
 *
 * `posix_bench MODE FIGURE` with MODE `raw` (plain system calls, pthread robust process-shared
 * mutexes, unnamed process-shared POSIX semaphores, futexes) or `named` (POSIX named
 * semaphores: sem_open). Runs one figure for about BENCH_BUDGET_MS (default 200) and prints
 * `ns_per_op`, or `n/a` for a figure the mode does not have. Same figures and same loop as
 * win32_bench.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "posix_bench: %s failed: %s\n", what, strerror(errno));
    exit(2);
}
#define CHECK(cond, what) do { if (!(cond)) die(what); } while (0)

static double budget_ns(void)
{
    const char *b = getenv("BENCH_BUDGET_MS");
    return (b ? atof(b) : 200.0) * 1e6;
}

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

#define PAGE_SZ 4096
static char shm_name[128];

static void *shared_page(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    return p;
}

/* ---- mapping cycles ---------------------------------------------------------------------- */
static void op_create_cycle(unsigned long i)
{
    (void)i;
    int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0, "shm_open");
    CHECK(ftruncate(fd, PAGE_SZ) == 0, "ftruncate");
    volatile char *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap");
    p[0] = 1;
    munmap((void *)p, PAGE_SZ);
    close(fd);
    CHECK(shm_unlink(shm_name) == 0, "shm_unlink");
}
static void op_open_cycle(unsigned long i)
{
    (void)i;
    int fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0600);
    CHECK(fd >= 0, "shm_open");
    volatile char *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap");
    p[0] = 1;
    munmap((void *)p, PAGE_SZ);
    close(fd);
}

/* The floor of an open cycle under the lifetime protocol (ARCHITECTURE.md §3, §7 "round 3"):
 * the raw cycle plus the four calls no design that keeps I2 and S4 can drop: a read lock that
 * counts the handle, an fstat that sees the name was not released before the lock (st_nlink),
 * a pread of the header page to validate, and the last-handle decision at close (a write-lock
 * probe, which fails: another handle is held). The object is a header page + a data page. */
static int ofd_lock(int fd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 2};
    return fcntl(fd, F_OFD_SETLK, &fl);
}
static char floor_header[PAGE_SZ];

/* The floor of a create cycle under the protocol: built unnamed in the namespace directory
 * (O_TMPFILE, I4), header and data page written in one call (I4/S4; SEC_COMMIT allocates, S5),
 * read-locked (I2), published with linkat (I4: no half-made object is ever seen; EEXIST is an
 * open), mapped and touched; at close the last-handle decision (the write lock, which succeeds)
 * and the unlink (I2). No fstat: filemap's create makes none either since session 9 (the exact
 * mode despite the umask, S3, comes from its directory's default ACL; the view's fill proves the
 * file covers it). */
static int shm_dir = -1;
/* The end of a create cycle under the lifetime protocol, floor and own calls alike: touch the
 * view, unmap it, take the last handle's decision lock, unlink the name, close. */
static inline void touch_unmap_and_release_last(int fd, volatile char *p)
{
    p[0] = 1;
    munmap((void *)p, PAGE_SZ);
    CHECK(ofd_lock(fd, F_WRLCK) == 0, "decision");
    CHECK(unlinkat(shm_dir, shm_name + 1, 0) == 0, "unlinkat");
    close(fd);
}
static void op_create_cycle_floor(unsigned long i)
{
    (void)i;
    int fd = openat(shm_dir, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    CHECK(fd >= 0, "openat O_TMPFILE");
    struct iovec iov[2] = {{floor_header, PAGE_SZ}, {floor_header, PAGE_SZ}};
    CHECK(pwritev(fd, iov, 2, 0) == 2 * PAGE_SZ, "pwritev");
    CHECK(ofd_lock(fd, F_RDLCK) == 0, "read lock");
    CHECK(linkat(fd, "", shm_dir, shm_name + 1, AT_EMPTY_PATH) == 0, "linkat");
    volatile char *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE_SZ);
    CHECK(p != MAP_FAILED, "mmap");
    touch_unmap_and_release_last(fd, p);
}
static void op_open_cycle_floor(unsigned long i)
{
    (void)i;
    struct stat st;
    int fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0600);
    CHECK(fd >= 0, "shm_open");
    CHECK(ofd_lock(fd, F_RDLCK) == 0, "read lock");
    CHECK(fstat(fd, &st) == 0 && st.st_nlink > 0, "fstat");
    CHECK(pread(fd, floor_header, PAGE_SZ, 0) == PAGE_SZ, "pread header");
    volatile char *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE_SZ);
    CHECK(p != MAP_FAILED, "mmap");
    p[0] = 1;
    munmap((void *)p, PAGE_SZ);
    CHECK(ofd_lock(fd, F_WRLCK) == -1 && errno == EAGAIN, "decision probe");
    close(fd);
}

/* filemap's own cycles as bare system calls: exactly the calls `win32_bench create_cycle` and
 * `open_cycle` make in their steady state (strace them), in the same order and with the same
 * flags, and no library code around them, so the report can tell the kernel's share of
 * filemap's time from its own. Views go where filemap puts them: MAP_FIXED_NOREPLACE at a
 * 64 KiB-aligned address found once (calls_view_setup) and reused by every cycle, and their
 * page tables are filled at once as filemap fills a small shared view's: since session 9 by
 * MADV_POPULATE_READ after the mmap, whose EFAULT also proves the file covers the view, in
 * place of an fstat before it and MAP_POPULATE (the raw cycles keep the plain mmap a C
 * programmer writes). The open
 * flags lack only O_LARGEFILE, which filemap passes and the kernel adds to every open on a
 * 64-bit system anyway. */
static void *view_addr;
/* fstat itself, as filemap calls it: glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH). */
static int sys_fstat(int fd, struct stat *st)
{
    return (int)syscall(SYS_fstat, fd, st);
}
static void calls_view_setup(void)
{
    char *r = mmap(NULL, 1 << 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(r != MAP_FAILED, "mmap reserve");
    view_addr = (void *)(((uintptr_t)r + 0xffff) & ~(uintptr_t)0xffff);
    CHECK(munmap(r, 1 << 16) == 0, "munmap reserve");
}
static volatile char *calls_view(int fd)
{
    volatile char *p = mmap(view_addr, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, PAGE_SZ);
    CHECK(p == view_addr, "mmap MAP_FIXED_NOREPLACE");
    CHECK(madvise((void *)p, PAGE_SZ, MADV_POPULATE_READ) == 0, "madvise MADV_POPULATE_READ");
    return p;
}
static void op_create_cycle_calls(unsigned long i)
{
    (void)i;
    int fd = openat(shm_dir, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    CHECK(fd >= 0, "openat O_TMPFILE");
    CHECK(syscall(SYS_geteuid) >= 0, "geteuid (the header's creator)");
    struct iovec iov[2] = {{floor_header, PAGE_SZ}, {floor_header, PAGE_SZ}};
    CHECK(pwritev(fd, iov, 2, 0) == 2 * PAGE_SZ, "pwritev");
    CHECK(ofd_lock(fd, F_RDLCK) == 0, "read lock");
    CHECK(linkat(fd, "", shm_dir, shm_name + 1, AT_EMPTY_PATH) == 0, "linkat");
    volatile char *p = calls_view(fd);
    touch_unmap_and_release_last(fd, p);
}
static void op_open_cycle_calls(unsigned long i)
{
    (void)i;
    struct stat st;
    int fd = openat(shm_dir, shm_name + 1, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    CHECK(fd >= 0, "openat");
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 2};
    CHECK(fcntl(fd, F_OFD_GETLK, &probe) == 0 && probe.l_type == F_RDLCK, "liveness probe");
    CHECK(ofd_lock(fd, F_RDLCK) == 0, "read lock");
    CHECK(sys_fstat(fd, &st) == 0 && st.st_nlink > 0, "fstat");
    CHECK(pread(fd, floor_header, PAGE_SZ, 0) == PAGE_SZ, "pread header");
    volatile char *p = calls_view(fd);
    p[0] = 1;
    munmap((void *)p, PAGE_SZ);
    CHECK(ofd_lock(fd, F_WRLCK) == -1 && errno == EAGAIN, "decision probe");
    CHECK(ofd_lock(fd, F_UNLCK) == 0, "unlock");
    close(fd);
}

/* ---- sync, uncontended ------------------------------------------------------------------- */
static pthread_mutex_t *pm;
static sem_t *sem;
static void op_mutex(unsigned long i)
{
    (void)i;
    CHECK(pthread_mutex_lock(pm) == 0, "pthread_mutex_lock");
    pthread_mutex_unlock(pm);
}
/* The floor of a robust mutex whose robust-list node lives in private memory, as S6 requires
 * (no pointer in the shared page): the pair above plus the one compare-and-swap with which a
 * thread claims its process's node for the mapping before it links it (a forged free word must
 * not let two threads link one node), and the plain store that gives it back. */
static uint32_t node_holder;
static void op_mutex_node_cas(unsigned long i)
{
    (void)i;
    uint32_t free_ = 0;
    CHECK(__atomic_compare_exchange_n(&node_holder, &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), "node claim");
    CHECK(pthread_mutex_lock(pm) == 0, "pthread_mutex_lock");
    __atomic_store_n(&node_holder, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(pm);
}
static void op_sem_lock(unsigned long i) /* a named semaphore as a lock */
{
    (void)i;
    CHECK(sem_wait(sem) == 0, "sem_wait");
    sem_post(sem);
}
static void op_semaphore(unsigned long i)
{
    (void)i;
    sem_post(sem);
    CHECK(sem_wait(sem) == 0, "sem_wait");
}
static int efd[64];
static void op_wait_any_64(unsigned long i)
{
    (void)i;
    struct pollfd p[64];
    uint64_t one = 1, v;
    CHECK(write(efd[63], &one, 8) == 8, "eventfd write");
    for (int k = 0; k < 64; k++) {
        p[k].fd = efd[k];
        p[k].events = POLLIN;
        p[k].revents = 0;
    }
    CHECK(poll(p, 64, -1) == 1, "poll");
    for (int k = 0; k < 64; k++)
        if (p[k].revents & POLLIN) {
            CHECK(read(efd[k], &v, 8) == 8, "eventfd read");
            break;
        }
}

/* The floor of any wait-any over 64 objects that live in 64 shared files (as named objects
 * do): set the 64th word, then find the first non-zero word with acquire loads and take it with
 * one compare-and-swap. No handles, no rights, no protocol: each word is in its own mapped
 * tmpfs page, so the scan touches 64 pages, as filemap's WaitForMultipleObjects must. */
static uint32_t *scan_words[64];
static void op_scan_64(unsigned long i)
{
    (void)i;
    __atomic_store_n(scan_words[63], 1, __ATOMIC_RELEASE);
    for (int k = 0; k < 64; k++) {
        uint32_t v = __atomic_load_n(scan_words[k], __ATOMIC_ACQUIRE);
        if (v != 0) {
            CHECK(__atomic_compare_exchange_n(scan_words[k], &v, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED),
                  "scan_64 take");
            return;
        }
    }
    die("scan_64 found nothing");
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
static int touch_huge;
static void op_first_touch(unsigned long i)
{
    (void)i;
    size_t len = (size_t)TOUCH_MB << 20;
    volatile char *p;
    int fd = -1;
    if (touch_huge) {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p == MAP_FAILED) {
            printf("n/a\n");
            exit(0);
        }
    } else {
        fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0, "shm_open");
        CHECK(ftruncate(fd, (off_t)len) == 0, "ftruncate");
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(p != MAP_FAILED, "mmap");
    }
    for (size_t off = 0; off < len; off += PAGE_SZ)
        p[off] = 1;
    munmap((void *)p, len);
    if (fd >= 0) {
        close(fd);
        shm_unlink(shm_name);
    }
}

/* ---- processes --------------------------------------------------------------------------- */
static void futex_wait(uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void futex_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Round trip: the parent sets word 0 to its turn number and wakes, the child answers on word
 * 1. With `named`: two named semaphores. */
static double fig_ping_pong(int named)
{
    volatile uint32_t *w = shared_page(PAGE_SZ);
    sem_t *a = NULL, *b = NULL;
    char an[160], bn[160];
    if (named) {
        snprintf(an, sizeof an, "%s-a", shm_name);
        snprintf(bn, sizeof bn, "%s-b", shm_name);
        a = sem_open(an, O_CREAT | O_EXCL, 0600, 0);
        b = sem_open(bn, O_CREAT | O_EXCL, 0600, 0);
        CHECK(a != SEM_FAILED && b != SEM_FAILED, "sem_open");
    }
    pid_t child = fork();
    CHECK(child >= 0, "fork");
    if (child == 0) {
        for (uint32_t n = 1;; n++) {
            if (named) {
                sem_wait(a);
                sem_post(b);
                continue;
            }
            while (w[0] != n)
                futex_wait((uint32_t *)&w[0], n - 1);
            w[1] = n;
            futex_wake((uint32_t *)&w[1]);
        }
    }
    double budget = budget_ns(), t0 = now_ns(), dt;
    uint32_t n = 0;
    do {
        for (int k = 0; k < 100; k++) {
            n++;
            if (named) {
                sem_post(a);
                sem_wait(b);
                continue;
            }
            w[0] = n;
            futex_wake((uint32_t *)&w[0]);
            while (w[1] != n)
                futex_wait((uint32_t *)&w[1], n - 1);
        }
        dt = now_ns() - t0;
    } while (dt < budget);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (named) {
        sem_unlink(an);
        sem_unlink(bn);
    }
    return dt / (double)n;
}

/* N processes lock, increment, unlock until the parent raises the stop flag after the budget;
 * the figure is wall time / acquisitions. */
static double fig_contended(int n, int named)
{
    struct shared {
        pthread_mutex_t m;
        volatile long counter;
        volatile int go, stop;
        volatile long done[64];
    } *s = shared_page(PAGE_SZ);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&s->m, &attr);
    char sn[160];
    sem_t *lock = NULL;
    if (named) {
        snprintf(sn, sizeof sn, "%s-lock", shm_name);
        lock = sem_open(sn, O_CREAT | O_EXCL, 0600, 1);
        CHECK(lock != SEM_FAILED, "sem_open");
    }
    pid_t kids[64];
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0, "fork");
        if (kids[i] == 0) {
            while (!s->go)
                usleep(1000);
            long done = 0;
            while (!s->stop) {
                if (named)
                    sem_wait(lock);
                else
                    pthread_mutex_lock(&s->m);
                s->counter = s->counter + 1;
                if (named)
                    sem_post(lock);
                else
                    pthread_mutex_unlock(&s->m);
                done++;
            }
            s->done[i] = done;
            _exit(0);
        }
    }
    usleep(300000);
    double t0 = now_ns();
    s->go = 1;
    while (now_ns() - t0 < budget_ns())
        usleep(5000);
    s->stop = 1;
    long total = 0;
    for (int i = 0; i < n; i++) {
        waitpid(kids[i], NULL, 0);
        total += s->done[i];
    }
    double dt = now_ns() - t0;
    if (s->counter != total || total == 0) {
        fprintf(stderr, "posix_bench: lost updates under the lock\n");
        exit(2);
    }
    if (named)
        sem_unlink(sn);
    return dt / (double)total;
}

/* Holds `count` live shm objects (bench-live-TAG-i) until stdin closes, then removes them. */
static int hold(const char *tag, long count)
{
    char n[160];
    for (long i = 0; i < count; i++) {
        snprintf(n, sizeof n, "/bench-live-%s-%ld", tag, i);
        int fd = shm_open(n, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0, "shm_open (hold)");
        CHECK(ftruncate(fd, PAGE_SZ) == 0, "ftruncate (hold)");
        close(fd);
    }
    printf("ready\n");
    fflush(stdout);
    char buf[16];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    for (long i = 0; i < count; i++) {
        snprintf(n, sizeof n, "/bench-live-%s-%ld", tag, i);
        shm_unlink(n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "child-hold"))
        return hold(argv[2], atol(argv[4]));
    if (argc < 3) {
        fprintf(stderr, "usage: posix_bench raw|named FIGURE\n");
        return 2;
    }
    int named = !strcmp(argv[1], "named");
    const char *fig = argv[2];
    snprintf(shm_name, sizeof shm_name, "/bench-posix-%d", (int)getpid());
    double r = -1;
    if (named) {
        if (!strcmp(fig, "semaphore") || !strcmp(fig, "mutex")) {
            char n[160];
            snprintf(n, sizeof n, "%s-sem", shm_name);
            sem = sem_open(n, O_CREAT | O_EXCL, 0600, !strcmp(fig, "mutex"));
            CHECK(sem != SEM_FAILED, "sem_open");
            sem_unlink(n);
            r = measure(!strcmp(fig, "mutex") ? op_sem_lock : op_semaphore);
        } else if (!strcmp(fig, "ping_pong")) {
            r = fig_ping_pong(1);
        } else if (!strncmp(fig, "contended_", 10)) {
            r = fig_contended(atoi(fig + 10), 1);
        }
    } else if (!strcmp(fig, "create_cycle")) {
        r = measure(op_create_cycle);
    } else if (!strcmp(fig, "create_cycle_floor")) {
        shm_dir = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(shm_dir >= 0, "open /dev/shm");
        r = measure(op_create_cycle_floor);
        close(shm_dir);
    } else if (!strcmp(fig, "create_cycle_calls")) {
        shm_dir = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(shm_dir >= 0, "open /dev/shm");
        calls_view_setup();
        r = measure(op_create_cycle_calls);
        close(shm_dir);
    } else if (!strcmp(fig, "open_cycle")) {
        int keep = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(keep >= 0 && ftruncate(keep, PAGE_SZ) == 0, "shm_open");
        r = measure(op_open_cycle);
        close(keep);
        shm_unlink(shm_name);
    } else if (!strcmp(fig, "open_cycle_floor")) {
        int keep = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(keep >= 0 && ftruncate(keep, 2 * PAGE_SZ) == 0 && ofd_lock(keep, F_RDLCK) == 0, "shm_open");
        r = measure(op_open_cycle_floor);
        close(keep);
        shm_unlink(shm_name);
    } else if (!strcmp(fig, "open_cycle_calls")) {
        /* The object as filemap's create leaves it: header and data page written, read-locked
         * by the descriptor that keeps it alive. */
        shm_dir = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(shm_dir >= 0, "open /dev/shm");
        int keep = openat(shm_dir, shm_name + 1, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        struct iovec iov[2] = {{floor_header, PAGE_SZ}, {floor_header, PAGE_SZ}};
        CHECK(keep >= 0 && pwritev(keep, iov, 2, 0) == 2 * PAGE_SZ && ofd_lock(keep, F_RDLCK) == 0, "openat");
        calls_view_setup();
        r = measure(op_open_cycle_calls);
        close(keep);
        unlinkat(shm_dir, shm_name + 1, 0);
        close(shm_dir);
    } else if (!strcmp(fig, "mutex") || !strcmp(fig, "mutex_node_cas")) {
        pm = shared_page(PAGE_SZ);
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        CHECK(pthread_mutex_init(pm, &attr) == 0, "pthread_mutex_init");
        r = measure(strcmp(fig, "mutex") ? op_mutex_node_cas : op_mutex);
    } else if (!strcmp(fig, "semaphore") || !strcmp(fig, "event")) {
        /* POSIX has no event: a process-shared semaphore posted and taken is the nearest
         * "signal, then consume it" pair. */
        sem = shared_page(PAGE_SZ);
        CHECK(sem_init(sem, 1, 0) == 0, "sem_init");
        r = measure(op_semaphore);
    } else if (!strcmp(fig, "wait_any_64")) {
        for (int k = 0; k < 64; k++) {
            efd[k] = eventfd(0, EFD_CLOEXEC);
            CHECK(efd[k] >= 0, "eventfd");
        }
        r = measure(op_wait_any_64);
    } else if (!strcmp(fig, "scan_64")) {
        for (int k = 0; k < 64; k++) {
            char n[160];
            snprintf(n, sizeof n, "%s-scan-%d", shm_name, k);
            int fd = shm_open(n, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            CHECK(fd >= 0 && ftruncate(fd, PAGE_SZ) == 0, "shm_open");
            scan_words[k] = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            CHECK(scan_words[k] != MAP_FAILED, "mmap");
            close(fd);
            shm_unlink(n);
        }
        r = measure(op_scan_64);
    } else if (!strcmp(fig, "copy_view")) {
        copy_dst = malloc(COPY_BYTES);
        copy_src = malloc(COPY_BYTES);
        memset(copy_dst, 1, COPY_BYTES);
        memset(copy_src, 7, COPY_BYTES);
        r = measure(op_copy);
    } else if (!strcmp(fig, "first_touch")) {
        r = measure(op_first_touch) / TOUCH_MB;
    } else if (!strcmp(fig, "first_touch_huge")) {
        touch_huge = 1;
        r = measure(op_first_touch) / TOUCH_MB;
    } else if (!strcmp(fig, "ping_pong")) {
        r = fig_ping_pong(0);
    } else if (!strncmp(fig, "contended_", 10)) {
        r = fig_contended(atoi(fig + 10), 0);
    }
    if (r < 0)
        printf("n/a\n");
    else
        printf("%.1f\n", r);
    return 0;
}
