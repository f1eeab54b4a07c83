/* bench_ops.c — the cost of one set and one get from C.
 *
 *   128-byte string: shmiface vs a process-shared pthread mutex around a
 *                    memcpy in shared memory (the usual hand-made design),
 *                    and vs the seed's design: a Boost.Interprocess
 *                    interprocess_mutex + char[128] in a POSIX shared-memory
 *                    object (boost_design.cpp, linked in so that its rounds
 *                    run in the same loop as the others);
 *   0 bytes:         get_bytes of a segment never set, the floor of a call
 *                    (boundary, handle check, a read of nothing), for
 *                    context: what every call pays before its work;
 *   64 KiB, 64 MiB:  shmiface set/get_bytes vs plain memcpy, in GB/s.
 *
 * Rounds interleave each variant with its baseline; the figure is the
 * median over rounds.  usage: bench_ops OUT.json [--quick] */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

#include "bench.h"
#include "boost_design.h"

#define SMALL 128

/* The baseline: what a hand-made shared segment with a mutex looks like. */
typedef struct {
    pthread_mutex_t lock;
    size_t len;
    char data[SMALL + 1];
} mutex_box;

/* robust: what a lock must be for a writer killed mid-set not to block the
 * others, and what shmiface's writer lock is. */
static mutex_box *mutex_box_new(int robust) {
    /* MAP_SHARED memory, as a segment from shm_open would be. */
    mutex_box *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) die("mmap: %s", strerror(errno));
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (robust) pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init(&b->lock, &attr) != 0) die("pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    return b;
}

__attribute__((noinline)) static int mutex_set(mutex_box *b, const char *value) {
    size_t len = strlen(value);
    if (len > SMALL) return -1;
    pthread_mutex_lock(&b->lock);
    memcpy(b->data, value, len);
    b->len = len;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

__attribute__((noinline)) static int mutex_get(mutex_box *b, char *buf, size_t buf_len, size_t *len_out) {
    pthread_mutex_lock(&b->lock);
    size_t len = b->len;
    if (len + 1 > buf_len) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    memcpy(buf, b->data, len);
    pthread_mutex_unlock(&b->lock);
    buf[len] = '\0';
    *len_out = len;
    return 0;
}

__attribute__((noinline)) static void plain_copy(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n);
    __asm__ volatile("" : : "r"(dst) : "memory");
}

typedef struct {
    shmiface_segment *seg;
    shmiface_segment *empty; /* never set: its value is 0 bytes */
    mutex_box *box;          /* the baseline */
    mutex_box *robust_box;   /* for context */
    boost_design *boost;     /* the seed's design */
    char value[SMALL + 1];
    size_t ops;
} small_ctx;

static double ns_per_op(uint64_t start, size_t ops) { return (double)(now_ns() - start) / (double)ops; }

static double small_set_shmiface(small_ctx *c) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        c->value[0] = (char)('a' + i % 26);
        BENCH_OK(shmiface_set_string(c->seg, c->value));
    }
    return ns_per_op(t, c->ops);
}

static double small_set_mutex(small_ctx *c, mutex_box *box) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        c->value[0] = (char)('a' + i % 26);
        if (mutex_set(box, c->value) != 0) die("mutex_set");
    }
    return ns_per_op(t, c->ops);
}

static double small_set_boost(small_ctx *c) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        c->value[0] = (char)('a' + i % 26);
        if (boost_design_set(c->boost, c->value) != 0) die("boost_design_set");
    }
    return ns_per_op(t, c->ops);
}

static double small_get_shmiface(small_ctx *c) {
    char buf[SMALL + 1];
    size_t len = 0, total = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        BENCH_OK(shmiface_get_string(c->seg, buf, sizeof buf, &len));
        total += len;
    }
    double r = ns_per_op(t, c->ops);
    if (total != c->ops * SMALL) die("shmiface get returned %zu bytes in all", total);
    return r;
}

/* A successful call with no bytes to copy: what is left is the boundary,
 * the handle check and the seqlock's loads. */
static double empty_get_shmiface(small_ctx *c) {
    size_t len = 1, total = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        BENCH_OK(shmiface_get_bytes(c->empty, NULL, 0, &len, NULL));
        total += len;
    }
    double r = ns_per_op(t, c->ops);
    if (total != 0) die("the empty segment returned %zu bytes in all", total);
    return r;
}

static double small_get_mutex(small_ctx *c, mutex_box *box) {
    char buf[SMALL + 1];
    size_t len = 0, total = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        if (mutex_get(box, buf, sizeof buf, &len) != 0) die("mutex_get");
        total += len;
    }
    double r = ns_per_op(t, c->ops);
    if (total != c->ops * SMALL) die("mutex get returned %zu bytes in all", total);
    return r;
}

static double small_get_boost(small_ctx *c) {
    char buf[SMALL + 1];
    size_t len = 0, total = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        if (boost_design_get(c->boost, buf, sizeof buf, &len) != 0) die("boost_design_get");
        total += len;
    }
    double r = ns_per_op(t, c->ops);
    if (total != c->ops * SMALL) die("boost design get returned %zu bytes in all", total);
    return r;
}

static void bench_small(json_out *j, int quick) {
    char name[96];
    unique_name(name, sizeof name, "ops128");
    small_ctx c = {.box = mutex_box_new(0), .robust_box = mutex_box_new(1), .ops = quick ? 2000 : 400000};
    shmiface_options opts = {.capacity = SMALL};
    BENCH_OK(shmiface_init_instance(name, &opts, &c.seg));
    char empty_name[96];
    unique_name(empty_name, sizeof empty_name, "ops0");
    BENCH_OK(shmiface_init_instance(empty_name, &opts, &c.empty));
    char boost_name[96], err[256];
    unique_name(boost_name, sizeof boost_name, "boost-design");
    c.boost = boost_design_new(boost_name, err, sizeof err);
    if (!c.boost) die("the Boost design's segment: %s", err);
    memset(c.value, 'x', SMALL);
    c.value[SMALL] = '\0';
    series set_s = {"c.set128.shmiface", "C set 128 B, shmiface", "ns/op", {0}, 0};
    series set_m = {"c.set128.mutex", "C set 128 B, pthread mutex + memcpy", "ns/op", {0}, 0};
    series get_s = {"c.get128.shmiface", "C get 128 B, shmiface", "ns/op", {0}, 0};
    series get_m = {"c.get128.mutex", "C get 128 B, pthread mutex + memcpy", "ns/op", {0}, 0};
    series set_r = {"c.set128.robust_mutex", "C set 128 B, robust pthread mutex + memcpy", "ns/op", {0}, 0};
    series get_r = {"c.get128.robust_mutex", "C get 128 B, robust pthread mutex + memcpy", "ns/op", {0}, 0};
    series set_b = {"c.set128.boost_design", "C set 128 B, Boost interprocess_mutex + char[128] in POSIX shm",
                     "ns/op", {0}, 0};
    series get_b = {"c.get128.boost_design", "C get 128 B, Boost interprocess_mutex + char[128] in POSIX shm",
                     "ns/op", {0}, 0};
    series get_0 = {"c.get0.shmiface", "C get 0 B, shmiface (call floor: boundary, handle check, empty read)",
                    "ns/op", {0}, 0};
    int rounds = quick ? 2 : 15;
    small_set_shmiface(&c); /* warm-up: page faults, caches, branch predictors */
    small_set_mutex(&c, c.box);
    small_set_mutex(&c, c.robust_box);
    small_set_boost(&c);
    empty_get_shmiface(&c);
    for (int r = 0; r < rounds; r++) {
        series_add(&set_s, small_set_shmiface(&c));
        series_add(&set_m, small_set_mutex(&c, c.box));
        series_add(&set_r, small_set_mutex(&c, c.robust_box));
        series_add(&set_b, small_set_boost(&c));
        series_add(&get_s, small_get_shmiface(&c));
        series_add(&get_m, small_get_mutex(&c, c.box));
        series_add(&get_r, small_get_mutex(&c, c.robust_box));
        series_add(&get_b, small_get_boost(&c));
        series_add(&get_0, empty_get_shmiface(&c));
    }
    json_metric(j, &set_s);
    json_metric(j, &set_m);
    json_metric(j, &set_r);
    json_metric(j, &set_b);
    json_metric(j, &get_s);
    json_metric(j, &get_m);
    json_metric(j, &get_r);
    json_metric(j, &get_b);
    json_metric(j, &get_0);
    BENCH_OK(shmiface_destroy(c.seg));
    BENCH_OK(shmiface_destroy(c.empty));
    boost_design_free(c.boost);
    mutex_box *boxes[] = {c.box, c.robust_box};
    for (size_t i = 0; i < 2; i++) {
        pthread_mutex_destroy(&boxes[i]->lock);
        munmap(boxes[i], sizeof *boxes[i]);
    }
}

typedef struct {
    shmiface_segment *seg;
    uint8_t *src, *dst;
    size_t size, ops;
} bulk_ctx;

static double gb_per_s(uint64_t start, size_t bytes) { return (double)bytes / (double)(now_ns() - start); }

static double bulk_set(bulk_ctx *c) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) BENCH_OK(shmiface_set_bytes(c->seg, c->src, c->size, 0, NULL));
    return gb_per_s(t, c->size * c->ops);
}

static double bulk_get(bulk_ctx *c) {
    size_t len = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) {
        BENCH_OK(shmiface_get_bytes(c->seg, c->dst, c->size, &len, NULL));
        if (len != c->size) die("get_bytes returned %zu bytes, not %zu", len, c->size);
    }
    return gb_per_s(t, c->size * c->ops);
}

static double bulk_memcpy(bulk_ctx *c) {
    uint64_t t = now_ns();
    for (size_t i = 0; i < c->ops; i++) plain_copy(c->dst, c->src, c->size);
    return gb_per_s(t, c->size * c->ops);
}

static void bench_bulk(json_out *j, const char *tag, const char *size_label, size_t size, size_t ops,
                       int rounds) {
    char name[96];
    unique_name(name, sizeof name, tag);
    bulk_ctx c = {.size = size, .ops = ops, .src = malloc(size), .dst = malloc(size)};
    if (!c.src || !c.dst) die("out of memory");
    for (size_t i = 0; i < size; i++) c.src[i] = (uint8_t)(i * 31 + 7);
    memset(c.dst, 0, size);
    shmiface_options opts = {.capacity = size};
    BENCH_OK(shmiface_init_instance(name, &opts, &c.seg));
    static char ids[3][48], labels[3][64];
    snprintf(ids[0], sizeof ids[0], "c.set%s.shmiface", tag);
    snprintf(ids[1], sizeof ids[1], "c.get%s.shmiface", tag);
    snprintf(ids[2], sizeof ids[2], "c.copy%s.memcpy", tag);
    snprintf(labels[0], sizeof labels[0], "C set %s, shmiface", size_label);
    snprintf(labels[1], sizeof labels[1], "C get %s, shmiface", size_label);
    snprintf(labels[2], sizeof labels[2], "C memcpy %s", size_label);
    series set = {ids[0], labels[0], "GB/s", {0}, 0};
    series get = {ids[1], labels[1], "GB/s", {0}, 0};
    series cpy = {ids[2], labels[2], "GB/s", {0}, 0};
    /* Warm-up: both slots written, every page of both mappings touched. */
    bulk_set(&c);
    bulk_set(&c);
    bulk_get(&c);
    bulk_memcpy(&c);
    for (int r = 0; r < rounds; r++) {
        series_add(&set, bulk_set(&c));
        series_add(&get, bulk_get(&c));
        series_add(&cpy, bulk_memcpy(&c));
    }
    if (memcmp(c.src, c.dst, size) != 0) die("%s: the value read back differs", tag);
    json_metric(j, &set);
    json_metric(j, &get);
    json_metric(j, &cpy);
    BENCH_OK(shmiface_destroy(c.seg));
    free(c.src);
    free(c.dst);
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: bench_ops OUT.json [--quick]");
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    pin_cpu(0);
    json_out j = json_open(argv[1], "bench_ops", quick);
    bench_small(&j, quick);
    bench_bulk(&j, "64k", "64 KiB", 64u << 10, quick ? 20 : 2000, quick ? 2 : 11);
    bench_bulk(&j, "64m", "64 MiB", quick ? 1u << 20 : 64u << 20, quick ? 2 : 4, quick ? 2 : 9);
    json_close(&j);
    return 0;
}
