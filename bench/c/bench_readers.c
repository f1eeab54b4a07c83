/* bench_readers.c — how reads scale: 1, 2 and 4 reader processes read a
 * 128-byte value for a fixed time while one writer process keeps setting
 * it. Each reader checks every value it gets (a value is one repeated
 * byte), so a torn read fails the run instead of counting as fast.
 *
 * Readers never write shared memory, so they do not slow each other down;
 * the machine's core count does (with 2 cores, 4 readers and a writer
 * share them).  usage: bench_readers OUT.json [--quick] */
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "bench.h"

#define VALUE_LEN 128
#define MAX_READERS 4

typedef struct {
    _Atomic int go, stop;
    _Atomic uint64_t reads[MAX_READERS], writes;
} board;

static void wait_for_go(board *b) {
    while (!atomic_load(&b->go)) usleep(100);
}

static void reader(const char *name, board *b, int index) {
    shmiface_segment *seg;
    BENCH_OK(shmiface_get_instance(name, &seg));
    char buf[VALUE_LEN + 1];
    size_t len;
    uint64_t n = 0;
    wait_for_go(b);
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        BENCH_OK(shmiface_get_string(seg, buf, sizeof buf, &len));
        if (len != VALUE_LEN || buf[0] != buf[VALUE_LEN - 1] || buf[0] != buf[VALUE_LEN / 2])
            die("reader %d: a torn value", index);
        n++;
    }
    atomic_store(&b->reads[index], n);
    BENCH_OK(shmiface_destroy(seg));
    _exit(0);
}

static void writer(const char *name, board *b) {
    shmiface_segment *seg;
    BENCH_OK(shmiface_get_instance(name, &seg));
    char value[VALUE_LEN + 1] = {0};
    uint64_t n = 0;
    wait_for_go(b);
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        memset(value, 'a' + (int)(n % 26), VALUE_LEN);
        BENCH_OK(shmiface_set_string(seg, value));
        n++;
    }
    atomic_store(&b->writes, n);
    BENCH_OK(shmiface_destroy(seg));
    _exit(0);
}

static pid_t spawn(void (*body)(const char *, board *, int), const char *name, board *b, int index) {
    pid_t p = fork();
    if (p < 0) die("fork: %s", strerror(errno));
    if (p == 0) body(name, b, index);
    return p;
}

static void writer_body(const char *name, board *b, int index) {
    (void)index;
    writer(name, b);
}

/* Reads per second per reader (the mean of the readers) and writes per
 * second, for `readers` readers over `seconds`. */
static void run(const char *name, int readers, double seconds, double *reads_per_s, double *writes_per_s) {
    board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) die("mmap: %s", strerror(errno));
    pid_t pids[MAX_READERS + 1];
    pids[0] = spawn(writer_body, name, b, 0);
    for (int i = 0; i < readers; i++) pids[i + 1] = spawn(reader, name, b, i);
    usleep(50000); /* every process attached and waiting */
    uint64_t t0 = now_ns();
    atomic_store(&b->go, 1);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&b->stop, 1);
    double elapsed = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i <= readers; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("a reader or the writer failed");
    }
    uint64_t total = 0;
    for (int i = 0; i < readers; i++) total += atomic_load(&b->reads[i]);
    *reads_per_s = (double)total / readers / elapsed;
    *writes_per_s = (double)atomic_load(&b->writes) / elapsed;
    munmap(b, sizeof *b);
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: bench_readers OUT.json [--quick]");
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    json_out j = json_open(argv[1], "bench_readers", quick);
    char name[96];
    unique_name(name, sizeof name, "readers");
    shmiface_options opts = {.capacity = VALUE_LEN};
    shmiface_segment *seg;
    BENCH_OK(shmiface_init_instance(name, &opts, &seg));
    char first[VALUE_LEN + 1] = {0};
    memset(first, 'z', VALUE_LEN); /* readers may start before the writer's first set */
    BENCH_OK(shmiface_set_string(seg, first));
    const int counts[] = {1, 2, 4};
    static char ids[3][2][48], labels[3][2][80];
    series reads[3], writes[3];
    for (int k = 0; k < 3; k++) {
        snprintf(ids[k][0], sizeof ids[k][0], "c.readers.%d.reads_per_s", counts[k]);
        snprintf(ids[k][1], sizeof ids[k][1], "c.readers.%d.writes_per_s", counts[k]);
        snprintf(labels[k][0], sizeof labels[k][0], "C %d reader(s) + 1 writer: reads/s per reader", counts[k]);
        snprintf(labels[k][1], sizeof labels[k][1], "C %d reader(s) + 1 writer: writes/s", counts[k]);
        reads[k] = (series){ids[k][0], labels[k][0], "M/s", {0}, 0};
        writes[k] = (series){ids[k][1], labels[k][1], "M/s", {0}, 0};
    }
    for (int r = 0; r < (quick ? 1 : 3); r++) {
        for (int k = 0; k < 3; k++) {
            double rd, wr;
            run(name, counts[k], quick ? 0.02 : 0.4, &rd, &wr);
            series_add(&reads[k], rd / 1e6);
            series_add(&writes[k], wr / 1e6);
        }
    }
    for (int k = 0; k < 3; k++) {
        json_metric(&j, &reads[k]);
        json_metric(&j, &writes[k]);
    }
    BENCH_OK(shmiface_destroy(seg));
    json_close(&j);
    return 0;
}
