/* bench_streams.c — ABI 1.1 streams between processes, against what a
 * user would otherwise pass messages through.
 *
 *   messages/s    one producer, one consumer that keeps up, 64 B and 4 KiB:
 *                 shmiface (set_bytes → next into a buffer, history 1024)
 *                 vs POSIX mq_send/mq_receive and Boost.Interprocess
 *                 message_queue (the C++ peer boost_mq_peer);
 *   fan-out       one producer, 1 and 4 shmiface consumers, 64 B: each
 *                 consumer's rate;
 *   latency       producer → a consumer blocked in next, one way, median
 *                 and p99, vs the same run's notify → wait round trip;
 *   8 MiB frames  loan + publish → borrow + release vs set_bytes → next,
 *                 frames/s as GB/s, vs memcpy bandwidth.
 *
 * Keeping up, honestly: shmiface's writers never wait for readers, so a
 * fast producer would overwrite what a consumer has not read. Each
 * consumer publishes the version it has read back through an ack segment
 * of its own (every 64 messages, and each frame); the producer never runs
 * more than half the history ahead of the slowest ack, waiting for it
 * with next on the ack segment. The queues block their sender instead.
 * Every message carries its sequence number in its first and last 8 bytes
 * (a frame: in every 4 KiB page), every consumer checks each one, and
 * every shmiface consumer counts version gaps as lost: the lost figure
 * must be 0, or the rate is not that of a consumer that keeps up.
 *
 * Rates are the consumer's: messages from the first `warm` on, over the
 * time between its reading message `warm` and the last one. Pinned as
 * bench_roundtrip: producer cpu 0, consumer cpu 1 (fan-out consumers
 * unpinned: there are more processes than cores). Rounds interleave the
 * variants; figures are medians over rounds.
 *
 * usage: bench_streams OUT.json [--quick]   (boost_mq_peer beside it) */
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"

#define HISTORY 1024
#define WINDOW (HISTORY / 2)
#define ACK_EVERY 64
#define MAX_CONSUMERS 4
#define FRAME (8u << 20)
#define FRAME_HISTORY 4
#define PAGE 4096
#define TIMEOUT_MS 20000

typedef struct {
    _Atomic int ready;
    uint64_t t_warm[MAX_CONSUMERS], t_end[MAX_CONSUMERS], lost[MAX_CONSUMERS];
    /* latency: the version the consumer has read last, and its samples */
    _Atomic uint64_t seen;
} board;

static board *board_new(void) {
    board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) die("mmap: %s", strerror(errno));
    return b;
}

static void unpin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++) CPU_SET((int)i, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static void place(int cpu) {
    if (cpu < 0)
        unpin();
    else
        pin_cpu(cpu);
}

static void wait_child(pid_t pid, const char *who) {
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s: a child process failed", who);
}

/* A message says its sequence number in its first and last 8 bytes. */
static void stamp(uint8_t *p, size_t size, uint64_t seq) {
    memcpy(p, &seq, 8);
    memcpy(p + size - 8, &seq, 8);
}

static void check_msg(const uint8_t *p, size_t len, size_t size, uint64_t seq, const char *who) {
    uint64_t head, tail;
    memcpy(&head, p, 8);
    memcpy(&tail, p + size - 8, 8);
    if (len != size || head != seq || tail != seq)
        die("%s: message %llu came back as %llu/%llu, %zu bytes", who, (unsigned long long)seq,
            (unsigned long long)head, (unsigned long long)tail, len);
}

static shmiface_segment *make_stream(const char *name, size_t capacity, uint32_t history) {
    shmiface_create_options o = {.capacity = capacity, .history = history};
    shmiface_segment *seg;
    BENCH_OK(shmiface_create(name, &o, sizeof o, &seg));
    return seg;
}

/* ---- flow control: acks ------------------------------------------------- */

typedef struct {
    char name[96];
    shmiface_segment *seg;
    uint64_t version, acked; /* the producer's view */
} ack_line;

static void acks_make(ack_line *acks, int n) {
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "ack%d", i);
        unique_name(acks[i].name, sizeof acks[i].name, what);
        acks[i].seg = make_stream(acks[i].name, 8, 1);
        acks[i].version = acks[i].acked = 0;
    }
}

static void acks_free(ack_line *acks, int n) {
    for (int i = 0; i < n; i++) BENCH_OK(shmiface_destroy(acks[i].seg));
}

/* Before the producer sets `next`: every consumer has read `next - window`. */
static void acks_await(ack_line *acks, int n, uint64_t next, uint64_t window) {
    if (next <= window) return;
    for (int i = 0; i < n; i++)
        while (acks[i].acked + window < next) {
            uint64_t v;
            size_t len;
            BENCH_OK(shmiface_next(acks[i].seg, &acks[i].version, (uint8_t *)&v, sizeof v, &len, TIMEOUT_MS));
            acks[i].acked = v;
        }
}

static void ack_send(shmiface_segment *ack, uint64_t version) {
    BENCH_OK(shmiface_set_bytes(ack, (const uint8_t *)&version, sizeof version, 0, NULL));
}

/* ---- messages/s: shmiface with K consumers ------------------------------- */

static void shm_consumer(const char *name, const char *ack_name, board *b, int idx, size_t size,
                         uint64_t count, uint64_t warm, int cpu) {
    place(cpu);
    shmiface_segment *seg, *ack;
    BENCH_OK(shmiface_get_instance(name, &seg));
    BENCH_OK(shmiface_get_instance(ack_name, &ack));
    uint8_t *buf = malloc(size);
    if (!buf) die("out of memory");
    atomic_fetch_add(&b->ready, 1);
    uint64_t v = 0, lost = 0;
    while (v < count) {
        uint64_t before = v;
        size_t len = 0;
        BENCH_OK(shmiface_next(seg, &v, buf, size, &len, TIMEOUT_MS));
        check_msg(buf, len, size, v, "shmiface consumer");
        lost += v - before - 1;
        if (before < warm && v >= warm) b->t_warm[idx] = now_ns();
        if (v % ACK_EVERY == 0 || v == count) ack_send(ack, v);
    }
    b->t_end[idx] = now_ns();
    b->lost[idx] = lost;
    free(buf);
    BENCH_OK(shmiface_destroy(ack));
    BENCH_OK(shmiface_destroy(seg));
    _exit(0);
}

/* Each consumer's rate in rates[], messages per second; returns lost. */
static uint64_t shm_run(size_t size, uint64_t count, uint64_t warm, int consumers, int consumer_cpu,
                        double *rates) {
    char name[96];
    unique_name(name, sizeof name, "stream");
    shmiface_segment *seg = make_stream(name, size, HISTORY);
    ack_line acks[MAX_CONSUMERS];
    acks_make(acks, consumers);
    board *b = board_new();
    pid_t pids[MAX_CONSUMERS];
    fflush(NULL);
    for (int i = 0; i < consumers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) die("fork: %s", strerror(errno));
        if (pids[i] == 0) shm_consumer(name, acks[i].name, b, i, size, count, warm, consumer_cpu);
    }
    pin_cpu(0);
    while (atomic_load(&b->ready) < consumers) usleep(100);
    uint8_t *buf = malloc(size);
    if (!buf) die("out of memory");
    memset(buf, 0xab, size);
    for (uint64_t n = 1; n <= count; n++) {
        acks_await(acks, consumers, n, WINDOW);
        stamp(buf, size, n);
        BENCH_OK(shmiface_set_bytes(seg, buf, size, 0, NULL));
    }
    uint64_t lost = 0;
    for (int i = 0; i < consumers; i++) {
        wait_child(pids[i], "shmiface stream");
        rates[i] = (double)(count - warm) / ((double)(b->t_end[i] - b->t_warm[i]) / 1e9);
        lost += b->lost[i];
    }
    free(buf);
    munmap(b, sizeof *b);
    acks_free(acks, consumers);
    BENCH_OK(shmiface_destroy(seg));
    return lost;
}

/* ---- messages/s: POSIX message queues ------------------------------------ */

static long mq_depth_used;

static long read_proc_long(const char *path, long fallback) {
    FILE *f = fopen(path, "r");
    long v = fallback;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = fallback;
        fclose(f);
    }
    return v;
}

/* A queue as deep as shmiface's window when the limits allow (as root they
 * can be raised: RLIMIT_MSGQUEUE here, fs/mqueue/msg_max is passed by
 * CAP_SYS_RESOURCE), else as deep as fs/mqueue/msg_max allows. */
static mqd_t mq_make(const char *name, size_t size) {
    long msgsize_max = read_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
    if ((long)size > msgsize_max)
        die("POSIX mq: %zu-byte messages exceed /proc/sys/fs/mqueue/msgsize_max (%ld); "
            "as root: sysctl fs.mqueue.msgsize_max=%zu",
            size, msgsize_max, size);
    long depths[] = {WINDOW, read_proc_long("/proc/sys/fs/mqueue/msg_max", 10), 10};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
        (void)setrlimit(RLIMIT_MSGQUEUE, &rl); /* allowed to root; harmless to fail */
        struct mq_attr attr = {.mq_maxmsg = depths[i], .mq_msgsize = (long)size};
        mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
        if (q != (mqd_t)-1) {
            mq_depth_used = depths[i];
            return q;
        }
        if (errno != EINVAL && errno != EMFILE && errno != ENOMEM)
            die("mq_open %s: %s", name, strerror(errno));
    }
    die("mq_open %s: no depth allowed (%s)", name, strerror(errno));
    return (mqd_t)-1;
}

static double mq_run(size_t size, uint64_t count, uint64_t warm) {
    char name[96];
    snprintf(name, sizeof name, "/shmiface-bench-mq-%ld", (long)getpid());
    mq_unlink(name);
    mqd_t q = mq_make(name, size);
    board *b = board_new();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        pin_cpu(1);
        uint8_t *buf = malloc(size);
        if (!buf) die("out of memory");
        for (uint64_t i = 1; i <= count; i++) {
            ssize_t n = mq_receive(q, (char *)buf, size, NULL);
            if (n < 0) die("mq_receive: %s", strerror(errno));
            check_msg(buf, (size_t)n, size, i, "POSIX mq consumer");
            if (i == warm) b->t_warm[0] = now_ns();
        }
        b->t_end[0] = now_ns();
        _exit(0);
    }
    pin_cpu(0);
    uint8_t *buf = malloc(size);
    if (!buf) die("out of memory");
    memset(buf, 0xab, size);
    for (uint64_t i = 1; i <= count; i++) {
        stamp(buf, size, i);
        if (mq_send(q, (const char *)buf, size, 0) != 0) die("mq_send: %s", strerror(errno));
    }
    wait_child(pid, "POSIX mq");
    double rate = (double)(count - warm) / ((double)(b->t_end[0] - b->t_warm[0]) / 1e9);
    free(buf);
    munmap(b, sizeof *b);
    mq_close(q);
    mq_unlink(name);
    return rate;
}

/* ---- messages/s: Boost.Interprocess message_queue (the C++ peer) --------- */

static char peer_path[PATH_MAX + 32];

static double boost_run(size_t size, uint64_t count, uint64_t warm) {
    char cmd[sizeof peer_path + 96];
    snprintf(cmd, sizeof cmd, "'%s' %zu %llu %llu %d", peer_path, size, (unsigned long long)count,
             (unsigned long long)warm, WINDOW);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) die("cannot run %s: %s", peer_path, strerror(errno));
    double rate = 0;
    int got = fscanf(p, "%lf", &rate);
    int status = pclose(p);
    if (got != 1 || status != 0) die("%s failed (status %d)", peer_path, status);
    return rate;
}

/* ---- latency: producer → blocked consumer, and the round trip ------------ */

typedef struct {
    uint64_t stamp; /* the producer's clock just before the set */
    uint8_t pad[56];
} tick;

static void latency_consumer(const char *name, board *b, uint64_t count, uint64_t *samples) {
    pin_cpu(1);
    shmiface_segment *seg;
    BENCH_OK(shmiface_get_instance(name, &seg));
    atomic_fetch_add(&b->ready, 1);
    uint64_t v = 0;
    for (uint64_t i = 1; i <= count; i++) {
        tick t;
        size_t len = 0;
        BENCH_OK(shmiface_next(seg, &v, (uint8_t *)&t, sizeof t, &len, TIMEOUT_MS));
        uint64_t arrived = now_ns();
        if (v != i || len != sizeof t || t.pad[55] != (uint8_t)i) die("latency: value %llu is not %llu",
                                                                     (unsigned long long)v, (unsigned long long)i);
        samples[i - 1] = arrived - t.stamp;
        atomic_store_explicit(&b->seen, v, memory_order_release);
    }
    BENCH_OK(shmiface_destroy(seg));
    _exit(0);
}

/* One-way samples: before each set the producer waits until the consumer
 * has taken the last value and then 1-16 µs more, so that the consumer is
 * back waiting inside next (within its spin budget, as a waiter of the
 * round trip is) when the value comes. */
static void latency_run(uint64_t count, uint64_t *samples_out) {
    char name[96];
    unique_name(name, sizeof name, "latency");
    shmiface_segment *seg = make_stream(name, sizeof(tick), 16);
    board *b = board_new();
    uint64_t *samples = mmap(NULL, count * sizeof *samples, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (samples == MAP_FAILED) die("mmap: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) latency_consumer(name, b, count, samples);
    pin_cpu(0);
    while (atomic_load(&b->ready) < 1) usleep(100);
    uint32_t rng = 12345;
    for (uint64_t i = 1; i <= count; i++) {
        while (atomic_load_explicit(&b->seen, memory_order_acquire) != i - 1) __builtin_ia32_pause();
        rng = rng * 1103515245u + 12345u;
        uint64_t until = now_ns() + 1000 + (rng >> 16) % 15000;
        while (now_ns() < until) __builtin_ia32_pause();
        tick t;
        memset(t.pad, (int)(uint8_t)i, sizeof t.pad);
        t.stamp = now_ns();
        BENCH_OK(shmiface_set_bytes(seg, (const uint8_t *)&t, sizeof t, 0, NULL));
    }
    wait_child(pid, "latency");
    memcpy(samples_out, samples, count * sizeof *samples);
    munmap(samples, count * sizeof *samples);
    munmap(b, sizeof *b);
    BENCH_OK(shmiface_destroy(seg));
}

/* The round trip of bench_roundtrip, shmiface only: set_bytes with notify,
 * shmiface_wait, get_bytes, 64 bytes each way. */
static void rtt_partner(const char *ping, const char *pong, board *b, uint64_t count) {
    pin_cpu(1);
    shmiface_segment *in, *out;
    BENCH_OK(shmiface_get_instance(ping, &in));
    BENCH_OK(shmiface_get_instance(pong, &out));
    shmiface_info info;
    BENCH_OK(shmiface_get_info(in, &info));
    uint64_t seen = info.notify_count;
    atomic_fetch_add(&b->ready, 1);
    for (uint64_t i = 1; i <= count; i++) {
        tick t;
        size_t len = 0;
        BENCH_OK(shmiface_wait(in, &seen, TIMEOUT_MS));
        BENCH_OK(shmiface_get_bytes(in, (uint8_t *)&t, sizeof t, &len, NULL));
        if (len != sizeof t || t.stamp != i) die("round trip: message %llu is not %llu",
                                                 (unsigned long long)t.stamp, (unsigned long long)i);
        BENCH_OK(shmiface_set_bytes(out, (const uint8_t *)&t, sizeof t, SHMIFACE_SET_NOTIFY, NULL));
    }
    BENCH_OK(shmiface_destroy(in));
    BENCH_OK(shmiface_destroy(out));
    _exit(0);
}

static void rtt_run(uint64_t count, uint64_t *samples) {
    char ping[96], pong[96];
    unique_name(ping, sizeof ping, "sping");
    unique_name(pong, sizeof pong, "spong");
    shmiface_options o = {.capacity = sizeof(tick)};
    shmiface_segment *a, *c;
    BENCH_OK(shmiface_init_instance(ping, &o, &a));
    BENCH_OK(shmiface_init_instance(pong, &o, &c));
    shmiface_info info;
    BENCH_OK(shmiface_get_info(c, &info));
    uint64_t seen = info.notify_count;
    board *b = board_new();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) rtt_partner(ping, pong, b, count);
    pin_cpu(0);
    while (atomic_load(&b->ready) < 1) usleep(100);
    for (uint64_t i = 1; i <= count; i++) {
        tick t = {.stamp = i};
        size_t len = 0;
        uint64_t t0 = now_ns();
        BENCH_OK(shmiface_set_bytes(a, (const uint8_t *)&t, sizeof t, SHMIFACE_SET_NOTIFY, NULL));
        BENCH_OK(shmiface_wait(c, &seen, TIMEOUT_MS));
        BENCH_OK(shmiface_get_bytes(c, (uint8_t *)&t, sizeof t, &len, NULL));
        samples[i - 1] = now_ns() - t0;
        if (len != sizeof t || t.stamp != i) die("round trip: reply %llu is not %llu",
                                                 (unsigned long long)t.stamp, (unsigned long long)i);
    }
    wait_child(pid, "round trip");
    munmap(b, sizeof *b);
    BENCH_OK(shmiface_destroy(a));
    BENCH_OK(shmiface_destroy(c));
}

/* ---- 8 MiB frames ---------------------------------------------------------- */

/* A frame says its number in the first 8 bytes of every 4 KiB page. */
static void stamp_frame(uint8_t *p, uint64_t seq) {
    for (size_t off = 0; off < FRAME; off += PAGE) memcpy(p + off, &seq, 8);
}

static int frame_is(const uint8_t *p, size_t len, uint64_t seq) {
    if (len != FRAME) return 0;
    for (size_t off = 0; off < FRAME; off += PAGE) {
        uint64_t got;
        memcpy(&got, p + off, 8);
        if (got != seq) return 0;
    }
    return 1;
}

enum frame_way { FRAME_COPY, FRAME_ZERO_COPY };

static void frame_consumer(const char *name, const char *ack_name, board *b, enum frame_way way,
                           uint64_t count, uint64_t warm) {
    pin_cpu(1);
    shmiface_segment *seg, *ack;
    BENCH_OK(shmiface_get_instance(name, &seg));
    BENCH_OK(shmiface_get_instance(ack_name, &ack));
    uint8_t *buf = way == FRAME_COPY ? malloc(FRAME) : NULL;
    if (way == FRAME_COPY && !buf) die("out of memory");
    if (buf) memset(buf, 0, FRAME);
    atomic_fetch_add(&b->ready, 1);
    uint64_t v = 0;
    while (v < count) {
        uint64_t before = v;
        if (way == FRAME_COPY) {
            size_t len = 0;
            BENCH_OK(shmiface_next(seg, &v, buf, FRAME, &len, TIMEOUT_MS));
            if (!frame_is(buf, len, v)) die("frames (copy): frame %llu is not whole", (unsigned long long)v);
        } else {
            const uint8_t *data = NULL;
            size_t len = 0;
            BENCH_OK(shmiface_borrow(seg, &v, &data, &len, TIMEOUT_MS));
            int whole = frame_is(data, len, v);
            shmiface_status st = shmiface_release(seg, v);
            if (st != SHMIFACE_OK) die("frames (borrow): frame %llu: %s", (unsigned long long)v, shmiface_status_str(st));
            if (!whole) die("frames (borrow): frame %llu is not whole", (unsigned long long)v);
        }
        if (v != before + 1) die("frames: %llu lost before frame %llu", (unsigned long long)(v - before - 1),
                                 (unsigned long long)v);
        if (v == warm) b->t_warm[0] = now_ns();
        ack_send(ack, v);
    }
    b->t_end[0] = now_ns();
    free(buf);
    BENCH_OK(shmiface_destroy(ack));
    BENCH_OK(shmiface_destroy(seg));
    _exit(0);
}

/* Frames per second from the consumer, frame `warm` to `count`: every
 * slot has been written (and its pages faulted in) by then. */
static double frame_run(enum frame_way way, uint64_t count, uint64_t warm) {
    char name[96];
    unique_name(name, sizeof name, "frames");
    shmiface_segment *seg = make_stream(name, FRAME, FRAME_HISTORY);
    ack_line ack;
    acks_make(&ack, 1);
    board *b = board_new();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) frame_consumer(name, ack.name, b, way, count, warm);
    pin_cpu(0);
    uint8_t *own = NULL;
    if (way == FRAME_COPY) {
        own = malloc(FRAME);
        if (!own) die("out of memory");
        memset(own, 0xab, FRAME);
    }
    while (atomic_load(&b->ready) < 1) usleep(100);
    for (uint64_t n = 1; n <= count; n++) {
        acks_await(&ack, 1, n, FRAME_HISTORY / 2);
        if (way == FRAME_COPY) {
            stamp_frame(own, n);
            BENCH_OK(shmiface_set_bytes(seg, own, FRAME, 0, NULL));
        } else {
            uint8_t *data = NULL;
            size_t cap = 0;
            BENCH_OK(shmiface_loan(seg, &data, &cap));
            if (cap < FRAME) die("a loan of %zu bytes", cap);
            stamp_frame(data, n);
            BENCH_OK(shmiface_publish(seg, FRAME, 0, NULL));
        }
    }
    wait_child(pid, "frames");
    double rate = (double)(count - warm) / ((double)(b->t_end[0] - b->t_warm[0]) / 1e9);
    free(own);
    munmap(b, sizeof *b);
    acks_free(&ack, 1);
    BENCH_OK(shmiface_destroy(seg));
    return rate;
}

/* memcpy of 8 MiB between two private buffers, GB/s (the median of reps). */
static double memcpy_run(int reps) {
    uint8_t *src = malloc(FRAME), *dst = malloc(FRAME);
    if (!src || !dst) die("out of memory");
    memset(src, 0xab, FRAME);
    memset(dst, 0, FRAME);
    double gbs[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        stamp_frame(src, (uint64_t)r + 1);
        uint64_t t0 = now_ns();
        memcpy(dst, src, FRAME);
        uint64_t dt = now_ns() - t0;
        if (!frame_is(dst, FRAME, (uint64_t)r + 1)) die("memcpy: the copy differs");
        gbs[r] = (double)FRAME / (double)dt;
    }
    free(src);
    free(dst);
    return median_of(gbs, (size_t)reps);
}

/* ---- main ------------------------------------------------------------------ */

static void find_peer(const char *argv0) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);  /* the bin directory */
    if (n <= 0) snprintf(self, sizeof self, "%s", argv0);
    else self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(peer_path, sizeof peer_path, "%s/boost_mq_peer", slash ? self : ".");
    if (access(peer_path, X_OK) != 0) die("no %s (make bench builds it)", peer_path);
}

static series make_series(const char *id, const char *label, const char *unit) {
    series s = {id, label, unit, {0}, 0};
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: bench_streams OUT.json [--quick]");
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    find_peer(argv[0]);
    json_out j = json_open(argv[1], "bench_streams", quick);
    const int rounds = quick ? 1 : 5;

    /* messages/s, 64 B and 4 KiB */
    const size_t sizes[2] = {64, 4096};
    const char *size_id[2] = {"64", "4k"};
    const uint64_t shm_count[2] = {quick ? 3000 : 1000000, quick ? 3000 : 200000};
    const uint64_t queue_count[2] = {quick ? 3000 : 200000, quick ? 3000 : 100000};
    const char *way[3] = {"shmiface", "posix_mq", "boost_mq"};
    static char ids[2][3][48], labels[2][3][96];
    series rate[2][3];
    for (int s = 0; s < 2; s++)
        for (int w = 0; w < 3; w++) {
            snprintf(ids[s][w], sizeof ids[s][w], "c.stream%s.%s", size_id[s], way[w]);
            rate[s][w] = make_series(ids[s][w], labels[s][w], "M msg/s");
        }
    uint64_t lost = 0;
    for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < 2; s++) {
            double rates[MAX_CONSUMERS];
            lost += shm_run(sizes[s], shm_count[s], shm_count[s] / 10, 1, 1, rates);
            series_add(&rate[s][0], rates[0] / 1e6);
            series_add(&rate[s][1], mq_run(sizes[s], queue_count[s], queue_count[s] / 10) / 1e6);
            series_add(&rate[s][2], boost_run(sizes[s], queue_count[s], queue_count[s] / 10) / 1e6);
        }
    }
    for (int s = 0; s < 2; s++) {
        /* The queue depths are known once a queue has been made. */
        snprintf(labels[s][0], sizeof labels[s][0], "C stream %zu B, 1 consumer: shmiface (history %d, window %d)",
                 sizes[s], HISTORY, WINDOW);
        snprintf(labels[s][1], sizeof labels[s][1], "C stream %zu B, 1 consumer: POSIX mq (depth %ld)", sizes[s],
                 mq_depth_used);
        snprintf(labels[s][2], sizeof labels[s][2], "C stream %zu B, 1 consumer: Boost message_queue (depth %d)",
                 sizes[s], WINDOW);
        for (int w = 0; w < 3; w++) json_metric(&j, &rate[s][w]);
    }

    /* fan-out: 1 and 4 consumers of one producer, 64 B */
    series fan1 = make_series("c.stream64.fanout1", "C stream 64 B, 1 consumer (unpinned): its rate", "M msg/s");
    series fan4 = make_series("c.stream64.fanout4.min", "C stream 64 B, 4 consumers: the slowest one's rate",
                              "M msg/s");
    series fan4mean = make_series("c.stream64.fanout4.mean", "C stream 64 B, 4 consumers: their mean rate",
                                  "M msg/s");
    const uint64_t fan_count = quick ? 3000 : 1000000;
    for (int r = 0; r < rounds; r++) {
        double rates[MAX_CONSUMERS];
        lost += shm_run(64, fan_count, fan_count / 10, 1, -1, rates);
        series_add(&fan1, rates[0] / 1e6);
        lost += shm_run(64, fan_count, fan_count / 10, 4, -1, rates);
        double lo = rates[0], sum = 0;
        for (int i = 0; i < 4; i++) {
            lo = rates[i] < lo ? rates[i] : lo;
            sum += rates[i];
        }
        series_add(&fan4, lo / 1e6);
        series_add(&fan4mean, sum / 4 / 1e6);
    }
    json_metric(&j, &fan1);
    json_metric(&j, &fan4);
    json_metric(&j, &fan4mean);
    series lost_s = make_series("c.stream.lost", "C stream: messages lost by consumers that keep up", "messages");
    series_add(&lost_s, (double)lost);
    json_metric(&j, &lost_s);

    /* latency: one way vs the round trip */
    const uint64_t lat_count = quick ? 50 : 20000;
    uint64_t *lat = malloc(lat_count * sizeof *lat), *rtt = malloc(lat_count * sizeof *rtt);
    if (!lat || !rtt) die("out of memory");
    series lat_med = make_series("c.stream.latency.median", "C stream latency, producer -> blocked consumer, median", "ns");
    series lat_p99 = make_series("c.stream.latency.p99", "C stream latency, producer -> blocked consumer, p99", "ns");
    series rtt_med = make_series("c.stream.rtt.median", "C notify -> wait round trip (same run), median", "ns");
    series rtt_p99 = make_series("c.stream.rtt.p99", "C notify -> wait round trip (same run), p99", "ns");
    for (int r = 0; r < rounds; r++) {
        latency_run(lat_count, lat);
        rtt_run(lat_count, rtt);
        series_add(&lat_med, quantile_sorted(lat, lat_count, 0.5));
        series_add(&lat_p99, quantile_sorted(lat, lat_count, 0.99));
        series_add(&rtt_med, quantile_sorted(rtt, lat_count, 0.5));
        series_add(&rtt_p99, quantile_sorted(rtt, lat_count, 0.99));
    }
    free(lat);
    free(rtt);
    json_metric(&j, &lat_med);
    json_metric(&j, &lat_p99);
    json_metric(&j, &rtt_med);
    json_metric(&j, &rtt_p99);

    /* 8 MiB frames */
    series zc = make_series("c.frame8m.loan_borrow", "C 8 MiB frames, loan+publish -> borrow+release", "GB/s");
    series cp = make_series("c.frame8m.set_next", "C 8 MiB frames, set_bytes -> next (two copies)", "GB/s");
    series mc = make_series("c.frame8m.memcpy", "C memcpy of 8 MiB", "GB/s");
    const uint64_t warm_frames = FRAME_HISTORY + 2;
    for (int r = 0; r < rounds; r++) {
        double z = frame_run(FRAME_ZERO_COPY, warm_frames + (quick ? 4 : 2000), warm_frames);
        double c = frame_run(FRAME_COPY, warm_frames + (quick ? 4 : 200), warm_frames);
        series_add(&zc, z * FRAME / 1e9);
        series_add(&cp, c * FRAME / 1e9);
        series_add(&mc, memcpy_run(quick ? 3 : 21));
    }
    json_metric(&j, &zc);
    json_metric(&j, &cp);
    json_metric(&j, &mc);
    json_close(&j);
    return 0;
}
