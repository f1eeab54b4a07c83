/* Threads of one process hammering one segment: writers and readers on one
 * shared handle, waiters and a notifier, and threads that attach and
 * destroy handles of their own in a loop (the per-process registry). Every
 * value is self-checking; the test fails on a torn value, a failed call,
 * or a waiter that misses the final notification.
 *
 * Built plainly for `make test`, and with -fsanitize=thread for
 * `make stress` (ThreadSanitizer sees this program's memory and the
 * library's pthread calls; the Rust library itself is not instrumented). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "harness.h"

#define CAP 200
#define WRITERS 3
#define READERS 3
#define WAITERS 2
#define ATTACHERS 2

static shmiface_segment *SHARED;
static const char *NAME;
static int ITERS = 20000;
static volatile int stop_waiting;
static long torn, errors, reads, waits;
static pthread_mutex_t counts = PTHREAD_MUTEX_INITIALIZER;

static void add(long *c, long n) {
    pthread_mutex_lock(&counts);
    *c += n;
    pthread_mutex_unlock(&counts);
}

/* 8 bytes of tag, then bytes derived from it; the length from the counter. */
static size_t make_value(uint8_t *v, uint64_t writer, uint64_t counter) {
    uint64_t tag = (writer << 48) | counter;
    size_t len = 8 + (size_t)(counter * 7 % (CAP - 8 + 1));
    memcpy(v, &tag, 8);
    for (size_t i = 8; i < len; i++) v[i] = (uint8_t)((tag * 31 + i * 131) % 251);
    return len;
}

static int check_value(const uint8_t *v, size_t len) {
    if (len == 0) return 1;
    if (len < 8) return 0;
    uint64_t tag;
    memcpy(&tag, v, 8);
    uint8_t expect[CAP];
    size_t want = make_value(expect, tag >> 48, tag & ((UINT64_C(1) << 48) - 1));
    return want == len && memcmp(expect, v, len) == 0;
}

static void *writer(void *arg) {
    uint64_t id = (uint64_t)(uintptr_t)arg;
    uint8_t v[CAP];
    for (int i = 1; i <= ITERS; i++) {
        size_t len = make_value(v, id, (uint64_t)i);
        uint32_t flags = i % 64 == 0 ? SHMIFACE_SET_NOTIFY : 0;
        if (shmiface_set_bytes(SHARED, v, len, flags, NULL) != SHMIFACE_OK) add(&errors, 1);
    }
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    uint8_t v[CAP];
    long bad = 0, n = 0;
    uint64_t last = 0;
    for (int i = 0; i < ITERS; i++) {
        size_t len = 0;
        uint64_t version = 0;
        if (shmiface_get_bytes(SHARED, v, sizeof v, &len, &version) != SHMIFACE_OK) {
            add(&errors, 1);
            continue;
        }
        n++;
        if (!check_value(v, len)) bad++;
        if (version < last) bad++;
        last = version;
    }
    add(&torn, bad);
    add(&reads, n);
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    shmiface_info info;
    if (shmiface_get_info(SHARED, &info) != SHMIFACE_OK) add(&errors, 1);
    uint64_t seen = info.notify_count;
    long n = 0;
    while (!__atomic_load_n(&stop_waiting, __ATOMIC_SEQ_CST)) {
        shmiface_status st = shmiface_wait(SHARED, &seen, 30000);
        if (st != SHMIFACE_OK) {
            add(&errors, 1);
            break;
        }
        n++;
    }
    add(&waits, n);
    return NULL;
}

static void *attacher(void *arg) {
    (void)arg;
    uint8_t v[CAP];
    for (int i = 0; i < ITERS / 20; i++) {
        shmiface_segment *own = NULL;
        if (shmiface_get_instance(NAME, &own) != SHMIFACE_OK) {
            add(&errors, 1);
            continue;
        }
        size_t len = 0;
        if (shmiface_get_bytes(own, v, sizeof v, &len, NULL) != SHMIFACE_OK) add(&errors, 1);
        else if (!check_value(v, len)) add(&torn, 1);
        if (shmiface_notify(own) != SHMIFACE_OK) add(&errors, 1);
        if (shmiface_destroy(own) != SHMIFACE_OK) add(&errors, 1);
    }
    return NULL;
}

static int one_handle_many_threads(void) {
    NAME = unique_name("threads");
    shmiface_options o = {CAP, 0600, 0};
    CHECK_STATUS(shmiface_init_instance(NAME, &o, &SHARED), SHMIFACE_OK);
    pthread_t w[WRITERS], r[READERS], q[WAITERS], a[ATTACHERS];
    for (int i = 0; i < WAITERS; i++) CHECK(pthread_create(&q[i], NULL, waiter, NULL) == 0);
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < READERS; i++) CHECK(pthread_create(&r[i], NULL, reader, NULL) == 0);
    for (int i = 0; i < ATTACHERS; i++) CHECK(pthread_create(&a[i], NULL, attacher, NULL) == 0);
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
    for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);
    for (int i = 0; i < ATTACHERS; i++) pthread_join(a[i], NULL);
    __atomic_store_n(&stop_waiting, 1, __ATOMIC_SEQ_CST);
    CHECK_STATUS(shmiface_notify(SHARED), SHMIFACE_OK); /* the final one: every waiter must see it */
    for (int i = 0; i < WAITERS; i++) pthread_join(q[i], NULL);
    shmiface_info info;
    CHECK_STATUS(shmiface_get_info(SHARED, &info), SHMIFACE_OK);
    printf("  threads: writes=%d reads=%ld waits=%ld version=%llu torn=%ld errors=%ld\n",
           WRITERS * ITERS, reads, waits, (unsigned long long)info.version, torn, errors);
    CHECK(info.version == (uint64_t)WRITERS * (uint64_t)ITERS);
    CHECK(info.waiters == 0);
    CHECK_STATUS(shmiface_destroy(SHARED), SHMIFACE_OK);
    CHECK(!test_exists(NAME));
    CHECK(torn == 0);
    CHECK(errors == 0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) ITERS = atoi(argv[1]);
    RUN_TEST(one_handle_many_threads);
    return TEST_SUMMARY();
}
