/* bench_roundtrip.c — notify→wake round trips between two processes, and
 * what an idle waiter costs.
 *
 * Process A sends a 128-byte payload and wakes B; B reads it, answers with
 * 128 bytes and wakes A; A's clock measures the whole round trip. Four
 * ways, interleaved round by round:
 *   shmiface  set_bytes(.., SHMIFACE_SET_NOTIFY) + shmiface_wait
 *   futex     a raw futex: every wait sleeps in the kernel, every post wakes
 *   pipe      write()/read() of the payload over two pipes
 *   spin      a flag polled in a loop: the floor for two cores
 * and, last in each round, shmiface again while two CPU hogs (busy-loop
 * processes, unpinned, one per core) compete with both partners: started
 * just before that variant and killed right after it, or by atexit and
 * their parent-death signal if the run fails. Its rounds are cut short
 * past a time budget, so a round trip that falls off a cliff shows in its
 * figures instead of stretching the run.
 * Then a waiter waits 1 s on a segment where nothing happens, and getrusage
 * tells how much CPU it burnt.  usage: bench_roundtrip OUT.json [--quick] */
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bench.h"

#define PAYLOAD 128

enum variant { V_SHMIFACE, V_FUTEX, V_PIPE, V_SPIN, V_SHMIFACE_HOGS, V_COUNT };
static const char *const variant_name[V_COUNT] = {"shmiface", "futex", "pipe", "spin", "shmiface_hogs"};
static const char *const variant_label[V_COUNT] = {"shmiface", "futex", "pipe", "spin",
                                                   "shmiface under two CPU hogs"};
/* The channel a variant uses: the hogs' variant is shmiface's. */
#define USES_SHMIFACE(v) ((v) == V_SHMIFACE || (v) == V_SHMIFACE_HOGS)
/* A message with this sequence number tells B to stop (real ones start at 1). */
#define SEQ_STOP 0u

/* The CPU hogs: busy loops the run starts and stops around one variant. */
#define N_HOGS 2
static pid_t hogs[N_HOGS];
static pid_t hog_owner; /* a forked partner inherits the atexit handler */

static void stop_hogs(void) {
    if (getpid() != hog_owner) return;
    for (int i = 0; i < N_HOGS; i++) {
        if (hogs[i] <= 0) continue;
        kill(hogs[i], SIGKILL);
        waitpid(hogs[i], NULL, 0);
        hogs[i] = 0;
    }
}

/* Unpinned: each may run on any CPU (the parent is pinned to cpu 0, and a
 * child inherits that), so on two cores the scheduler spreads them one per
 * core, beside both partners. */
static void start_hogs(void) {
    pid_t parent = getpid();
    for (int i = 0; i < N_HOGS; i++) {
        pid_t p = fork();
        if (p < 0) die("fork (CPU hog): %s", strerror(errno));
        if (p == 0) {
            /* Never outlive the run: not if it is killed, not if it hangs. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            alarm(120);
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            cpu_set_t all;
            CPU_ZERO(&all);
            for (long cpu = 0; cpu < n && cpu < CPU_SETSIZE; cpu++) CPU_SET((int)cpu, &all);
            (void)sched_setaffinity(0, sizeof all, &all);
            for (;;) __asm__ volatile("" ::: "memory");
        }
        hogs[i] = p;
    }
    /* A moment for the scheduler to place them. */
    struct timespec settle = {0, 20 * 1000 * 1000};
    nanosleep(&settle, NULL);
}

/* The memory the futex and spin variants share, one line per direction. */
typedef struct {
    _Alignas(64) _Atomic uint32_t ping_seq;
    char ping[PAYLOAD];
    _Alignas(64) _Atomic uint32_t pong_seq;
    char pong[PAYLOAD];
} shared_lines;

typedef struct {
    enum variant v;
    shared_lines *lines;
    int to_b[2], to_a[2]; /* pipes */
    char ping_name[96], pong_name[96];
    shmiface_segment *ping_seg, *pong_seg;
} channel;

static void futex_wait_for(_Atomic uint32_t *word, uint32_t want) {
    uint32_t seen;
    while ((seen = atomic_load_explicit(word, memory_order_acquire)) != want)
        syscall(SYS_futex, word, FUTEX_WAIT, seen, NULL, NULL, 0);
}

static void futex_post(_Atomic uint32_t *word, uint32_t value) {
    atomic_store_explicit(word, value, memory_order_release);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void spin_wait_for(_Atomic uint32_t *word, uint32_t want) {
    while (atomic_load_explicit(word, memory_order_acquire) != want) __builtin_ia32_pause();
}

static void fill(char *p, uint32_t i) {
    memset(p, 'a' + (int)(i % 26), PAYLOAD);
    memcpy(p, &i, sizeof i);
}

/* 1 if the payload is the stop message (B, shmiface channel only). */
static int is_stop(const char *p) {
    uint32_t got;
    memcpy(&got, p, sizeof got);
    return got == SEQ_STOP;
}

static void check(const char *p, uint32_t i, const char *who) {
    uint32_t got;
    memcpy(&got, p, sizeof got);
    if (got != i || p[PAYLOAD - 1] != 'a' + (int)(i % 26))
        die("%s: payload %u came back as %u", who, (unsigned)i, (unsigned)got);
}

static void full_write(int fd, const void *p, size_t n) {
    if (write(fd, p, n) != (ssize_t)n) die("pipe write: %s", strerror(errno));
}

static void full_read(int fd, void *p, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)p + done, n - done);
        if (r <= 0) die("pipe read: %s", r == 0 ? "end of file" : strerror(errno));
        done += (size_t)r;
    }
}

/* One message one way: `seq` names it, the payload carries it. */
static void send_msg(channel *c, int from_a, uint32_t seq) {
    char buf[PAYLOAD];
    fill(buf, seq);
    switch (c->v) {
    case V_SHMIFACE:
    case V_SHMIFACE_HOGS:
        BENCH_OK(shmiface_set_bytes(from_a ? c->ping_seg : c->pong_seg, (const uint8_t *)buf, PAYLOAD,
                                    SHMIFACE_SET_NOTIFY, NULL));
        break;
    case V_FUTEX:
        memcpy(from_a ? c->lines->ping : c->lines->pong, buf, PAYLOAD);
        futex_post(from_a ? &c->lines->ping_seq : &c->lines->pong_seq, seq);
        break;
    case V_SPIN:
        memcpy(from_a ? c->lines->ping : c->lines->pong, buf, PAYLOAD);
        atomic_store_explicit(from_a ? &c->lines->ping_seq : &c->lines->pong_seq, seq, memory_order_release);
        break;
    case V_PIPE:
        full_write(from_a ? c->to_b[1] : c->to_a[1], buf, PAYLOAD);
        break;
    default:
        die("unknown variant");
    }
}

/* Returns 1 when B receives the stop message instead of message `seq`. */
static int receive_msg(channel *c, int at_a, uint32_t seq, uint64_t *seen) {
    char buf[PAYLOAD];
    switch (c->v) {
    case V_SHMIFACE:
    case V_SHMIFACE_HOGS: {
        shmiface_segment *seg = at_a ? c->pong_seg : c->ping_seg;
        size_t len = 0;
        BENCH_OK(shmiface_wait(seg, seen, 10000));
        BENCH_OK(shmiface_get_bytes(seg, (uint8_t *)buf, sizeof buf, &len, NULL));
        if (len != PAYLOAD) die("shmiface: a %zu-byte payload", len);
        if (!at_a && is_stop(buf)) return 1;
        break;
    }
    case V_FUTEX:
        futex_wait_for(at_a ? &c->lines->pong_seq : &c->lines->ping_seq, seq);
        memcpy(buf, at_a ? c->lines->pong : c->lines->ping, PAYLOAD);
        break;
    case V_SPIN:
        spin_wait_for(at_a ? &c->lines->pong_seq : &c->lines->ping_seq, seq);
        memcpy(buf, at_a ? c->lines->pong : c->lines->ping, PAYLOAD);
        break;
    case V_PIPE:
        full_read(at_a ? c->to_a[0] : c->to_b[0], buf, PAYLOAD);
        break;
    default:
        die("unknown variant");
    }
    check(buf, seq, variant_name[c->v]);
    return 0;
}

static uint64_t notify_count(shmiface_segment *seg) {
    shmiface_info info;
    BENCH_OK(shmiface_get_info(seg, &info));
    return info.notify_count;
}

/* B: answers `count` messages, then exits. */
static void run_b(channel *c, uint32_t first, uint32_t count, int ready_fd) {
    pin_cpu(1);
    uint64_t seen = 0;
    if (USES_SHMIFACE(c->v)) {
        BENCH_OK(shmiface_get_instance(c->ping_name, &c->ping_seg));
        BENCH_OK(shmiface_get_instance(c->pong_name, &c->pong_seg));
        seen = notify_count(c->ping_seg);
    }
    full_write(ready_fd, "r", 1);
    for (uint32_t i = first; i < first + count; i++) {
        if (receive_msg(c, 0, i, &seen)) break;
        send_msg(c, 0, i);
    }
    if (USES_SHMIFACE(c->v)) {
        BENCH_OK(shmiface_destroy(c->ping_seg));
        BENCH_OK(shmiface_destroy(c->pong_seg));
    }
    _exit(0);
}

/* A: `count` round trips after `warmup` untimed ones; samples in ns. With
 * a budget (ns, shmiface channel only), the warm-up ends after a quarter
 * of it, the timed trips once it is spent, and B is told to stop. Returns
 * how many were timed. */
static uint32_t run_pair(channel *c, uint32_t warmup, uint32_t count, uint64_t budget_ns, uint64_t *samples) {
    static uint32_t next_seq = 1;
    uint32_t first = next_seq;
    next_seq += warmup + count;
    if (budget_ns && !USES_SHMIFACE(c->v)) die("a time budget needs the shmiface channel");
    int ready[2];
    if (pipe(ready) != 0) die("pipe: %s", strerror(errno));
    uint64_t seen = USES_SHMIFACE(c->v) ? notify_count(c->pong_seg) : 0;
    pid_t b = fork();
    if (b < 0) die("fork: %s", strerror(errno));
    if (b == 0) run_b(c, first, warmup + count, ready[1]);
    char r;
    full_read(ready[0], &r, 1);
    close(ready[0]);
    close(ready[1]);
    pin_cpu(0);
    uint32_t timed = 0, i = first;
    int timing = warmup == 0;
    uint64_t start = now_ns(), timed_from = start;
    for (; timed < count; i++) {
        uint64_t t = now_ns();
        if (!timing && (i - first == warmup || (budget_ns && t - start > budget_ns / 4))) {
            timing = 1;
            timed_from = t;
        }
        if (timing && budget_ns && timed > 0 && t - timed_from > budget_ns) break;
        send_msg(c, 1, i);
        receive_msg(c, 1, i, &seen);
        if (timing) samples[timed++] = now_ns() - t;
    }
    /* Cut short: B still expects the rest. */
    if (i - first < warmup + count) send_msg(c, 1, SEQ_STOP);
    int status;
    if (waitpid(b, &status, 0) != b || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s: the partner process failed", variant_name[c->v]);
    return timed;
}

static void bench_round_trips(json_out *j, int quick) {
    channel c = {0};
    c.lines = mmap(NULL, sizeof *c.lines, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c.lines == MAP_FAILED) die("mmap: %s", strerror(errno));
    if (pipe(c.to_b) != 0 || pipe(c.to_a) != 0) die("pipe: %s", strerror(errno));
    unique_name(c.ping_name, sizeof c.ping_name, "ping");
    unique_name(c.pong_name, sizeof c.pong_name, "pong");
    shmiface_options opts = {.capacity = PAYLOAD};
    BENCH_OK(shmiface_init_instance(c.ping_name, &opts, &c.ping_seg));
    BENCH_OK(shmiface_init_instance(c.pong_name, &opts, &c.pong_seg));
    /* The hogs' variant has segments of its own: what a waiter learns
     * under the hogs (its spin budget adapts per segment) must not carry
     * over into the quiet variant's next round. */
    channel hc = c;
    unique_name(hc.ping_name, sizeof hc.ping_name, "ping-hogs");
    unique_name(hc.pong_name, sizeof hc.pong_name, "pong-hogs");
    BENCH_OK(shmiface_init_instance(hc.ping_name, &opts, &hc.ping_seg));
    BENCH_OK(shmiface_init_instance(hc.pong_name, &opts, &hc.pong_seg));

    /* Sleeping variants cost ~10-100 µs a trip: fewer of them. Under hogs a
     * trip may wait for a time slice: at most 200 ms of them a round. */
    const uint32_t per_round[V_COUNT] = {
        [V_SHMIFACE] = quick ? 50 : 20000, [V_FUTEX] = quick ? 20 : 2000,
        [V_PIPE] = quick ? 20 : 2000,      [V_SPIN] = quick ? 50 : 20000,
        [V_SHMIFACE_HOGS] = quick ? 50 : 20000};
    const uint64_t budget_ns[V_COUNT] = {[V_SHMIFACE_HOGS] = (quick ? 50 : 200) * 1000000ull};
    const int rounds = quick ? 1 : 5;
    const uint32_t warmup = quick ? 5 : 500;
    uint64_t *all[V_COUNT];
    size_t n_all[V_COUNT] = {0};
    series medians[V_COUNT], p99s[V_COUNT];
    static char ids[V_COUNT][2][48], labels[V_COUNT][2][80];
    for (int v = 0; v < V_COUNT; v++) {
        all[v] = malloc(sizeof(uint64_t) * per_round[v] * (size_t)rounds);
        if (!all[v]) die("out of memory");
        snprintf(ids[v][0], sizeof ids[v][0], "c.rtt.%s.median", variant_name[v]);
        snprintf(ids[v][1], sizeof ids[v][1], "c.rtt.%s.p99", variant_name[v]);
        snprintf(labels[v][0], sizeof labels[v][0], "C round trip, %s, median", variant_label[v]);
        snprintf(labels[v][1], sizeof labels[v][1], "C round trip, %s, p99", variant_label[v]);
        medians[v] = (series){ids[v][0], labels[v][0], "ns", {0}, 0};
        p99s[v] = (series){ids[v][1], labels[v][1], "ns", {0}, 0};
    }
    for (int r = 0; r < rounds; r++) {
        for (int v = 0; v < V_COUNT; v++) {
            channel *ch = v == V_SHMIFACE_HOGS ? &hc : &c;
            ch->v = (enum variant)v;
            uint64_t *s = all[v] + n_all[v];
            if (v == V_SHMIFACE_HOGS) start_hogs();
            uint32_t n = run_pair(ch, warmup, per_round[v], budget_ns[v], s);
            if (v == V_SHMIFACE_HOGS) stop_hogs();
            n_all[v] += n;
            uint64_t *sorted = malloc(sizeof *sorted * n);
            if (!sorted) die("out of memory");
            memcpy(sorted, s, sizeof *sorted * n);
            series_add(&medians[v], quantile_sorted(sorted, n, 0.5));
            series_add(&p99s[v], quantile_sorted(sorted, n, 0.99));
            free(sorted);
        }
    }
    for (int v = 0; v < V_COUNT; v++) {
        json_metric(j, &medians[v]);
        json_metric(j, &p99s[v]);
    }
    /* The samples of every round, in the order they were taken. */
    for (int v = 0; v < V_COUNT; v++) {
        char id[32];
        snprintf(id, sizeof id, "c.rtt.%s", variant_name[v]);
        json_samples(j, id, all[v], n_all[v]);
        free(all[v]);
    }
    BENCH_OK(shmiface_destroy(c.ping_seg));
    BENCH_OK(shmiface_destroy(c.pong_seg));
    BENCH_OK(shmiface_destroy(hc.ping_seg));
    BENCH_OK(shmiface_destroy(hc.pong_seg));
    munmap(c.lines, sizeof *c.lines);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A waiter with nothing to wait for: the CPU it uses over the wall time. */
static void bench_idle_waiter(json_out *j, int quick) {
    char name[96];
    unique_name(name, sizeof name, "idle");
    shmiface_segment *seg;
    BENCH_OK(shmiface_init_instance(name, NULL, &seg));
    uint64_t seen = notify_count(seg);
    int64_t wait_ms = quick ? 100 : 1000;
    series cpu = {"c.idle_wait.cpu_percent", "C waiter idle for 1 s, CPU", "% of a core", {0}, 0};
    for (int r = 0; r < (quick ? 1 : 3); r++) {
        double c0 = cpu_seconds();
        uint64_t t0 = now_ns();
        shmiface_status st = shmiface_wait(seg, &seen, wait_ms);
        if (st != SHMIFACE_ERR_TIMEOUT) die("idle wait: %s, not a timeout", shmiface_status_str(st));
        series_add(&cpu, 100.0 * (cpu_seconds() - c0) / ((double)(now_ns() - t0) / 1e9));
    }
    json_metric(j, &cpu);
    BENCH_OK(shmiface_destroy(seg));
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: bench_roundtrip OUT.json [--quick]");
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    hog_owner = getpid();
    if (atexit(stop_hogs) != 0) die("atexit");
    json_out j = json_open(argv[1], "bench_roundtrip", quick);
    bench_idle_waiter(&j, quick);
    bench_round_trips(&j, quick);
    json_close(&j);
    return 0;
}
