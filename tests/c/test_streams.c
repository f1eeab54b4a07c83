/* ABI 1.1's streams from C: shmiface_create with history, next (order,
 * losses as version gaps, LATEST, waiting), loans, borrows, the extended
 * info, and every status their bad input gives. A producer in a forked
 * child shows a consumer in another process getting every value in order.
 * The probe (shmiface_get_probe): every set moves its version, the owner's
 * destroy sets its bit, and a value kept while it says nothing moved is
 * the current one, under a writer in another process. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CAP 256

static int make(const char *name, uint32_t history, shmiface_segment **out) {
    shmiface_create_options o = {.capacity = CAP, .history = history};
    return shmiface_create(name, &o, sizeof o, out);
}

/* A value that says its own version, so a reader can check it. */
static int set_numbered(shmiface_segment *seg, uint64_t n) {
    char v[32];
    snprintf(v, sizeof v, "value %llu", (unsigned long long)n);
    return shmiface_set_string(seg, v);
}

static uint64_t number_of(const uint8_t *buf, size_t len) {
    char text[64] = {0};
    memcpy(text, buf, len < sizeof text - 1 ? len : sizeof text - 1);
    return strtoull(text + 6, NULL, 10);
}

static int test_next_in_order_with_losses(void) {
    const char *name = unique_name("next");
    shmiface_segment *seg = NULL;
    CHECK_STATUS(make(name, 4, &seg), SHMIFACE_OK);
    for (uint64_t n = 1; n <= 10; n++) CHECK_STATUS(set_numbered(seg, n), SHMIFACE_OK);
    uint8_t buf[CAP];
    size_t len = 0;
    uint64_t version = 0, lost = 0, got = 0;
    for (;;) {
        uint64_t before = version;
        shmiface_status s = shmiface_next(seg, &version, buf, sizeof buf, &len, 0);
        if (s == SHMIFACE_ERR_TIMEOUT) break;
        CHECK_STATUS(s, SHMIFACE_OK);
        CHECK(number_of(buf, len) == version);
        lost += version - before - 1;
        got++;
    }
    CHECK(version == 10 && got == 4 && lost == 6);
    version = SHMIFACE_LATEST;
    CHECK_STATUS(shmiface_next(seg, &version, buf, sizeof buf, &len, -1), SHMIFACE_OK);
    CHECK(version == 10);
    /* Too small a buffer: the length, and the version untouched. */
    version = 9;
    CHECK_STATUS(shmiface_next(seg, &version, buf, 3, &len, 0), SHMIFACE_ERR_BUFFER_TOO_SMALL);
    CHECK(version == 9 && len == strlen("value 10"));
    shmiface_info_ex ex;
    CHECK_STATUS(shmiface_get_info_ex(seg, &ex, sizeof ex), SHMIFACE_OK);
    CHECK(ex.history == 4 && ex.oldest_version == 7 && ex.info.version == 10);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_bad_input_changes_nothing(void) {
    const char *name = unique_name("badopt");
    shmiface_segment *seg = NULL;
    struct {
        shmiface_create_options o;
        uint64_t future;
    } bigger = {{.capacity = CAP}, 1};
    shmiface_create_options o = {.capacity = CAP};
    CHECK_STATUS(shmiface_create(name, &o, sizeof o - 1, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_create(name, &bigger.o, sizeof bigger, &seg),
                 SHMIFACE_ERR_INVALID_ARGUMENT);
    o.reserved = 1;
    CHECK_STATUS(shmiface_create(name, &o, sizeof o, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    o.reserved = 0;
    o.history = 65537;
    CHECK_STATUS(shmiface_create(name, &o, sizeof o, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK(!test_exists(name));
    /* Unknown bytes that are zero are fine; history 0 means 1. */
    bigger.future = 0;
    bigger.o.history = 0;
    CHECK_STATUS(shmiface_create(name, &bigger.o, sizeof bigger, &seg), SHMIFACE_OK);
    shmiface_info_ex ex;
    CHECK_STATUS(shmiface_get_info_ex(seg, &ex, sizeof ex - 1), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_get_info_ex(seg, NULL, sizeof ex), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_info_ex(seg, &ex, sizeof ex), SHMIFACE_OK);
    CHECK(ex.history == 1 && ex.oldest_version == 0);
    uint8_t buf[8];
    uint64_t version = 0;
    CHECK_STATUS(shmiface_next(seg, NULL, buf, sizeof buf, NULL, 0), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_next(seg, &version, buf, sizeof buf, NULL, -2),
                 SHMIFACE_ERR_INVALID_ARGUMENT);
    const uint8_t *data = NULL;
    CHECK_STATUS(shmiface_borrow(seg, &version, &data, NULL, -5), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_borrow(seg, NULL, &data, NULL, 0), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_publish(seg, 0, 0, NULL), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_discard(seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK(version == 0);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_loans(void) {
    const char *name = unique_name("loan");
    shmiface_segment *seg = NULL;
    CHECK_STATUS(make(name, 2, &seg), SHMIFACE_OK);
    uint8_t *data = NULL;
    size_t capacity = 0;
    CHECK_STATUS(shmiface_loan(seg, &data, &capacity), SHMIFACE_OK);
    CHECK(capacity == CAP && ((uintptr_t)data % 64) == 0);
    memcpy(data, "in place", 8);
    /* The loaning thread is refused where it would wait for itself. */
    CHECK_STATUS(shmiface_set_string(seg, "x"), SHMIFACE_ERR_BUSY);
    CHECK_STATUS(shmiface_loan(seg, &data, &capacity), SHMIFACE_ERR_BUSY);
    char text[CAP + 1];
    size_t len = 0;
    CHECK_STATUS(shmiface_get_string(seg, text, sizeof text, &len), SHMIFACE_OK);
    CHECK(len == 0);
    CHECK_STATUS(shmiface_publish(seg, CAP + 1, 0, NULL), SHMIFACE_ERR_TOO_LARGE);
    uint64_t version = 0;
    CHECK_STATUS(shmiface_publish(seg, 8, SHMIFACE_SET_NOTIFY, &version), SHMIFACE_OK);
    CHECK(version == 1);
    CHECK_STATUS(shmiface_get_string(seg, text, sizeof text, &len), SHMIFACE_OK);
    CHECK(len == 8 && memcmp(text, "in place", 8) == 0);
    CHECK_STATUS(shmiface_loan(seg, &data, &capacity), SHMIFACE_OK);
    memset(data, 'Z', capacity);
    CHECK_STATUS(shmiface_discard(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(seg, text, sizeof text, &len), SHMIFACE_OK);
    CHECK(len == 8 && memcmp(text, "in place", 8) == 0);
    CHECK_STATUS(shmiface_set_string(seg, "after"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_borrows(void) {
    const char *name = unique_name("borrow");
    shmiface_segment *seg = NULL;
    CHECK_STATUS(make(name, 3, &seg), SHMIFACE_OK);
    CHECK_STATUS(set_numbered(seg, 1), SHMIFACE_OK);
    for (uint64_t newer = 3; newer <= 4; newer++) {
        uint64_t version = SHMIFACE_LATEST;
        const uint8_t *data = NULL;
        size_t len = 0;
        CHECK_STATUS(shmiface_borrow(seg, &version, &data, &len, 0), SHMIFACE_OK);
        CHECK(number_of(data, len) == version);
        for (uint64_t i = 1; i <= newer; i++) CHECK_STATUS(set_numbered(seg, version + i), SHMIFACE_OK);
        /* Intact across `history` (3) newer sets, overwritten after 4. */
        CHECK_STATUS(shmiface_release(seg, version),
                     newer <= 3 ? SHMIFACE_OK : SHMIFACE_ERR_OVERWRITTEN);
    }
    CHECK_STATUS(shmiface_release(seg, 12345), SHMIFACE_ERR_OVERWRITTEN);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

/* A child process that attaches to `name` and sets the values 1..count,
 * each carrying its number (exit 0; 2 or 3 when attach or a set failed). */
static pid_t spawn_numbered_writer(const char *name, uint64_t count) {
    pid_t pid = fork();
    if (pid == 0) {
        shmiface_segment *w = NULL;
        if (shmiface_get_instance(name, &w) != SHMIFACE_OK) _exit(2);
        for (uint64_t n = 1; n <= count; n++)
            if (set_numbered(w, n) != SHMIFACE_OK) _exit(3);
        shmiface_destroy(w);
        _exit(0);
    }
    return pid;
}

/* A producer in a child process sets 5000 values; this process reads every
 * one it can with next, and counts the rest as lost: together, all. */
static int test_a_consumer_in_another_process(void) {
    const char *name = unique_name("proc");
    shmiface_segment *seg = NULL;
    CHECK_STATUS(make(name, 64, &seg), SHMIFACE_OK);
    const uint64_t count = 5000;
    pid_t pid = spawn_numbered_writer(name, count);
    uint8_t buf[CAP];
    size_t len = 0;
    uint64_t version = 0, got = 0, lost = 0;
    while (version < count) {
        uint64_t before = version;
        CHECK_STATUS(shmiface_next(seg, &version, buf, sizeof buf, &len, 30000), SHMIFACE_OK);
        CHECK(number_of(buf, len) == version && version > before);
        lost += version - before - 1;
        got++;
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    CHECK(got + lost == count);
    printf("  consumer: %llu read in order, %llu counted lost\n", (unsigned long long)got,
           (unsigned long long)lost);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

/* ---- the probe: a kept value checked with two loads, no call ---- */

static uint64_t load_word(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

/* The current value through a call, with its version (next, LATEST). */
static shmiface_status read_latest(shmiface_segment *seg, uint8_t *buf, size_t *len, uint64_t *version) {
    *version = SHMIFACE_LATEST;
    return shmiface_next(seg, version, buf, CAP, len, 0);
}

static int test_probe(void) {
    const char *name = unique_name("probe");
    shmiface_segment *seg = NULL, *other = NULL;
    CHECK_STATUS(make(name, 2, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &other), SHMIFACE_OK);
    shmiface_probe probe;
    CHECK_STATUS(shmiface_get_probe(NULL, &probe, sizeof probe), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_probe(seg, NULL, sizeof probe), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_probe(seg, &probe, sizeof probe - 1), SHMIFACE_ERR_INVALID_ARGUMENT);
    /* A caller's larger struct: what the library does not know is zeroed. */
    struct {
        shmiface_probe p;
        uint64_t future;
    } bigger;
    memset(&bigger, 0xa5, sizeof bigger);
    CHECK_STATUS(shmiface_get_probe(seg, &bigger.p, sizeof bigger), SHMIFACE_OK);
    CHECK(bigger.future == 0);
    CHECK_STATUS(shmiface_get_probe(seg, &probe, sizeof probe), SHMIFACE_OK);
    CHECK(probe.version == bigger.p.version && probe.state == bigger.p.state);
    CHECK(probe.version != NULL && probe.state != NULL && probe.destroyed_bit != 0);
    /* Handles of one mapping see the same words. */
    shmiface_probe theirs;
    CHECK_STATUS(shmiface_get_probe(other, &theirs, sizeof theirs), SHMIFACE_OK);
    CHECK(theirs.version == probe.version && theirs.state == probe.state);

    /* Never set: version 0. Every kind of set moves it to the value's version. */
    CHECK(load_word(probe.version) == 0 && (load_word(probe.state) & probe.destroyed_bit) == 0);
    uint8_t buf[CAP];
    size_t len = 0;
    uint64_t kept = 0, v = 0;
    CHECK_STATUS(read_latest(seg, buf, &len, &kept), SHMIFACE_OK);
    CHECK(kept == 0 && len == 0 && load_word(probe.version) == kept);
    CHECK_STATUS(shmiface_set_string(other, "from the other handle"), SHMIFACE_OK);
    CHECK(load_word(probe.version) == 1);
    CHECK_STATUS(shmiface_set_bytes(seg, (const uint8_t *)"b", 1, 0, &v), SHMIFACE_OK);
    CHECK(v == 2 && load_word(probe.version) == 2);
    CHECK_STATUS(shmiface_compare_and_set(seg, 2, (const uint8_t *)"c", 1, 0, &v), SHMIFACE_OK);
    CHECK(v == 3 && load_word(probe.version) == 3);
    uint8_t *slot = NULL;
    size_t room = 0;
    CHECK_STATUS(shmiface_loan(seg, &slot, &room), SHMIFACE_OK);
    CHECK(load_word(probe.version) == 3); /* a loan is not a value yet */
    CHECK_STATUS(shmiface_discard(seg), SHMIFACE_OK);
    CHECK(load_word(probe.version) == 3);
    CHECK_STATUS(shmiface_loan(seg, &slot, &room), SHMIFACE_OK);
    memcpy(slot, "d", 1);
    CHECK_STATUS(shmiface_publish(seg, 1, 0, &v), SHMIFACE_OK);
    CHECK(v == 4 && load_word(probe.version) == 4);
    CHECK_STATUS(shmiface_notify(seg), SHMIFACE_OK);
    CHECK(load_word(probe.version) == 4 && (load_word(probe.state) & probe.destroyed_bit) == 0);
    /* The probe's version is the one a read reports. */
    uint64_t got = 0;
    CHECK_STATUS(shmiface_get_bytes(other, buf, sizeof buf, &len, &got), SHMIFACE_OK);
    CHECK(got == load_word(probe.version) && len == 1 && buf[0] == 'd');

    /* The owner's destroy sets the bit in the words the other handle still maps. */
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK((load_word(theirs.state) & theirs.destroyed_bit) != 0);
    CHECK(load_word(theirs.version) == 4);
    CHECK_STATUS(shmiface_get_bytes(other, buf, sizeof buf, &len, NULL), SHMIFACE_ERR_DESTROYED);
    shmiface_probe after;
    CHECK_STATUS(shmiface_get_probe(other, &after, sizeof after), SHMIFACE_OK);
    CHECK(after.version == theirs.version && after.state == theirs.state);
    CHECK_STATUS(shmiface_destroy(other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_probe(other, &after, sizeof after), SHMIFACE_ERR_BAD_HANDLE);
    return 0;
}

/* A writer in a child process sets 20000 numbered values while this one
 * keeps the value it read last and reads again only when the probe says
 * the version moved. Whenever the probe says the kept version is current,
 * a read through a call that finds that same version finds that same value;
 * and the kept versions only grow. */
static int test_probe_under_a_writer_in_another_process(void) {
    const char *name = unique_name("probeproc");
    shmiface_segment *seg = NULL;
    CHECK_STATUS(make(name, 1, &seg), SHMIFACE_OK);
    shmiface_probe probe;
    CHECK_STATUS(shmiface_get_probe(seg, &probe, sizeof probe), SHMIFACE_OK);
    const uint64_t count = 20000;
    pid_t pid = spawn_numbered_writer(name, count);
    uint8_t kept[CAP], buf[CAP];
    size_t kept_len = 0, len = 0;
    uint64_t kept_version = 0, hits = 0, misses = 0, checked = 0;
    double deadline = test_now() + 60;
    while (kept_version < count && test_now() < deadline) {
        uint64_t now = load_word(probe.version);
        if (now == kept_version && (load_word(probe.state) & probe.destroyed_bit) == 0) {
            hits++;
            uint64_t v = 0;
            CHECK_STATUS(shmiface_get_bytes(seg, buf, sizeof buf, &len, &v), SHMIFACE_OK);
            CHECK(v >= kept_version);
            if (v == kept_version) {
                CHECK(len == kept_len && memcmp(buf, kept, len) == 0);
                checked++;
            }
            continue;
        }
        uint64_t before = kept_version;
        CHECK_STATUS(read_latest(seg, kept, &kept_len, &kept_version), SHMIFACE_OK);
        CHECK(kept_version >= before && kept_version >= now);
        CHECK(kept_version == 0 || number_of(kept, kept_len) == kept_version);
        misses++;
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    CHECK(kept_version == count);
    printf("  reader: %llu reads through a call, %llu kept values confirmed current\n",
           (unsigned long long)misses, (unsigned long long)checked);
    (void)hits;
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN_TEST(test_next_in_order_with_losses);
    RUN_TEST(test_bad_input_changes_nothing);
    RUN_TEST(test_loans);
    RUN_TEST(test_borrows);
    RUN_TEST(test_a_consumer_in_another_process);
    RUN_TEST(test_probe);
    RUN_TEST(test_probe_under_a_writer_in_another_process);
    return TEST_SUMMARY();
}
