// Boost.Interprocess contender of the comparison harness (see BENCHMARKS.md).
//
// `boost_bench FIGURE` runs one figure for about BENCH_BUDGET_MS (default 200) and prints
// `ns_per_op`, or `n/a`. shared_memory_object + mapped_region for the mapping cycles,
// named_mutex, named_semaphore (post+wait, ping-pong between processes), contended named_mutex.
// Boost has no event object.
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/named_mutex.hpp>
#include <boost/interprocess/sync/named_semaphore.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace bi = boost::interprocess;

static double now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

static double budget_ns()
{
    const char *b = getenv("BENCH_BUDGET_MS");
    return (b ? atof(b) : 200.0) * 1e6;
}

template <class F> static double measure(F op)
{
    double budget = budget_ns() / 4, per = 0;
    unsigned long batch = 1;
    for (;;) {
        double t0 = now_ns();
        for (unsigned long i = 0; i < batch; i++)
            op();
        double dt = now_ns() - t0;
        per = dt / double(batch);
        if (dt >= budget)
            return per;
        batch = dt < budget / 16 ? batch * 8 : (unsigned long)(budget / (per > 1 ? per : 1)) + 1;
    }
}

static std::string uniq(const char *what)
{
    return std::string("bench-boost-") + what + "-" + std::to_string(getpid());
}

static double ping_pong()
{
    std::string an = uniq("a"), bn = uniq("b");
    bi::named_semaphore::remove(an.c_str());
    bi::named_semaphore::remove(bn.c_str());
    bi::named_semaphore a(bi::create_only, an.c_str(), 0), b(bi::create_only, bn.c_str(), 0);
    pid_t child = fork();
    if (child == 0) {
        for (;;) {
            a.wait();
            b.post();
        }
    }
    double budget = budget_ns(), t0 = now_ns(), dt;
    unsigned long n = 0;
    do {
        for (int k = 0; k < 100; k++) {
            a.post();
            b.wait();
        }
        n += 100;
        dt = now_ns() - t0;
    } while (dt < budget);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    bi::named_semaphore::remove(an.c_str());
    bi::named_semaphore::remove(bn.c_str());
    return dt / double(n);
}

// N processes lock, increment, unlock until the parent raises the stop flag after the budget.
static double contended(int n)
{
    std::string mn = uniq("cm"), sn = uniq("cs");
    bi::named_mutex::remove(mn.c_str());
    bi::shared_memory_object::remove(sn.c_str());
    bi::named_mutex m(bi::create_only, mn.c_str());
    bi::shared_memory_object shm(bi::create_only, sn.c_str(), bi::read_write);
    shm.truncate(4096);
    bi::mapped_region region(shm, bi::read_write);
    struct S {
        volatile long counter;
        volatile int go, stop;
        volatile long done[64];
    } *s = static_cast<S *>(region.get_address());
    pid_t kids[64];
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            bi::named_mutex cm(bi::open_only, mn.c_str());
            while (!s->go)
                usleep(1000);
            long done = 0;
            while (!s->stop) {
                cm.lock();
                s->counter = s->counter + 1;
                cm.unlock();
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
        waitpid(kids[i], nullptr, 0);
        total += s->done[i];
    }
    double dt = now_ns() - t0;
    if (s->counter != total || total == 0) {
        fprintf(stderr, "boost_bench: lost updates under named_mutex\n");
        exit(2);
    }
    bi::named_mutex::remove(mn.c_str());
    bi::shared_memory_object::remove(sn.c_str());
    return dt / double(total);
}

static int hold(const char *tag, long count)
{
    for (long i = 0; i < count; i++) {
        std::string n = std::string("bench-live-") + tag + "-" + std::to_string(i);
        bi::shared_memory_object shm(bi::create_only, n.c_str(), bi::read_write);
        shm.truncate(4096);
    }
    printf("ready\n");
    fflush(stdout);
    char buf[16];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    for (long i = 0; i < count; i++)
        bi::shared_memory_object::remove((std::string("bench-live-") + tag + "-" + std::to_string(i)).c_str());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "child-hold"))
        return hold(argv[2], atol(argv[4]));
    if (argc < 2) {
        fprintf(stderr, "usage: boost_bench FIGURE\n");
        return 2;
    }
    std::string fig = argv[1];
    std::string name = uniq("map");
    double r = -1;
    try {
        if (fig == "create_cycle") {
            r = measure([&] {
                bi::shared_memory_object shm(bi::create_only, name.c_str(), bi::read_write);
                shm.truncate(4096);
                bi::mapped_region region(shm, bi::read_write);
                static_cast<volatile char *>(region.get_address())[0] = 1;
                bi::shared_memory_object::remove(name.c_str());
            });
        } else if (fig == "open_cycle") {
            bi::shared_memory_object keep(bi::create_only, name.c_str(), bi::read_write);
            keep.truncate(4096);
            r = measure([&] {
                bi::shared_memory_object shm(bi::open_only, name.c_str(), bi::read_write);
                bi::mapped_region region(shm, bi::read_write);
                static_cast<volatile char *>(region.get_address())[0] = 1;
            });
            bi::shared_memory_object::remove(name.c_str());
        } else if (fig == "mutex") {
            std::string mn = uniq("mutex");
            bi::named_mutex::remove(mn.c_str());
            bi::named_mutex m(bi::create_only, mn.c_str());
            r = measure([&] {
                m.lock();
                m.unlock();
            });
            bi::named_mutex::remove(mn.c_str());
        } else if (fig == "semaphore") {
            std::string sn = uniq("sem");
            bi::named_semaphore::remove(sn.c_str());
            bi::named_semaphore s(bi::create_only, sn.c_str(), 0);
            r = measure([&] {
                s.post();
                s.wait();
            });
            bi::named_semaphore::remove(sn.c_str());
        } else if (fig == "copy_view") {
            bi::shared_memory_object shm(bi::create_only, name.c_str(), bi::read_write);
            shm.truncate(1 << 20);
            bi::mapped_region region(shm, bi::read_write);
            char *dst = static_cast<char *>(region.get_address());
            static char src[1 << 20];
            memset(src, 7, sizeof src);
            r = measure([&] {
                memcpy(dst, src, sizeof src);
                __asm__ __volatile__("" ::: "memory");
            });
            bi::shared_memory_object::remove(name.c_str());
        } else if (fig == "first_touch") {
            const size_t len = size_t(16) << 20;
            r = measure([&] {
                bi::shared_memory_object shm(bi::create_only, name.c_str(), bi::read_write);
                shm.truncate(len);
                bi::mapped_region region(shm, bi::read_write);
                volatile char *p = static_cast<char *>(region.get_address());
                for (size_t off = 0; off < len; off += 4096)
                    p[off] = 1;
                bi::shared_memory_object::remove(name.c_str());
            }) / 16;
        } else if (fig == "ping_pong") {
            r = ping_pong();
        } else if (fig.rfind("contended_", 0) == 0) {
            r = contended(atoi(fig.c_str() + 10));
        }
    } catch (const std::exception &e) {
        fprintf(stderr, "boost_bench: %s: %s\n", fig.c_str(), e.what());
        return 2;
    }
    if (r < 0)
        printf("n/a\n");
    else
        printf("%.1f\n", r);
    return 0;
}
