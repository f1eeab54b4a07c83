/*
 * test_dl — a program that uses libshmiface only through the dlopen
 * loader (shmiface_dl.c): it is linked without -lshmiface, which the
 * make target verifies with readelf.
 *
 *   test_dl [PATH]                 load PATH (default search when absent) and exercise every call
 *   test_dl --expect-fail PATH TEXT  loading PATH must fail with an error containing TEXT
 */
#define _POSIX_C_SOURCE 200809L

#include "shmiface_dl.h"

#include "check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int expect_fail(const char *path, const char *text) {
    shmiface_dl dl;
    memset(&dl, 0x5a, sizeof dl);
    CHECK(shmiface_dl_open(&dl, path) == -1);
    printf("expected failure: %s\n", dl.error);
    CHECK(strstr(dl.error, text) != NULL);
    CHECK(dl.handle == NULL);
    CHECK(dl.init_instance == NULL && dl.version == NULL);
    shmiface_dl_close(&dl); /* closed table: no-op */
    return CHECK_DONE("test_dl --expect-fail");
}

struct notifier {
    shmiface_dl *dl;
    shmiface_segment *seg;
};

static void *notify_later(void *arg) {
    struct notifier *n = arg;
    struct timespec ts = {0, 20 * 1000 * 1000}; /* so that the main thread is likely asleep */
    nanosleep(&ts, NULL);
    n->dl->set_string_notify(n->seg, "from the thread");
    return NULL;
}

/* A stream through the loader's table: history 4, six sets, then every
 * kept value in order, a loan published in place and a borrow. */
static void check_streams(const shmiface_dl *dl, const char *base) {
    char name[80];
    snprintf(name, sizeof name, "%s-stream", base);
    shmiface_create_options opt = {0};
    opt.capacity = 64;
    opt.history = 4;
    shmiface_segment *seg = NULL;
    CHECK(dl->create(name, &opt, sizeof opt, &seg) == SHMIFACE_OK && seg != NULL);
    if (seg == NULL) return;
    char text[16];
    for (int n = 1; n <= 6; n++) {
        snprintf(text, sizeof text, "v%d", n);
        CHECK(dl->set_string(seg, text) == SHMIFACE_OK);
    }
    uint64_t version = 0, expected = 3; /* 4 kept: versions 3 to 6 */
    uint8_t buf[64];
    size_t len = 0;
    while (dl->next(seg, &version, buf, sizeof buf, &len, 0) == SHMIFACE_OK) {
        snprintf(text, sizeof text, "v%llu", (unsigned long long)version);
        CHECK(version == expected && len == strlen(text) && memcmp(buf, text, len) == 0);
        expected++;
    }
    CHECK(expected == 7);

    uint8_t *slot = NULL;
    size_t room = 0;
    uint64_t published = 0;
    CHECK(dl->loan(seg, &slot, &room) == SHMIFACE_OK && slot != NULL && room == 64);
    CHECK(dl->discard(seg) == SHMIFACE_OK);
    CHECK(dl->loan(seg, &slot, &room) == SHMIFACE_OK && slot != NULL);
    if (slot != NULL) memcpy(slot, "in place", 8);
    CHECK(dl->publish(seg, 8, 0, &published) == SHMIFACE_OK && published == 7);

    const uint8_t *data = NULL;
    version = SHMIFACE_LATEST;
    CHECK(dl->borrow(seg, &version, &data, &len, 0) == SHMIFACE_OK && version == 7 &&
          len == 8 && data != NULL && memcmp(data, "in place", 8) == 0);
    CHECK(dl->release(seg, version) == SHMIFACE_OK);

    shmiface_info_ex ex;
    CHECK(dl->get_info_ex(seg, &ex, sizeof ex) == SHMIFACE_OK);
    CHECK(ex.history == 4 && ex.info.version == 7);

    /* the probe: the version in place, moved by a set */
    CHECK(dl->get_probe != NULL);
    if (dl->get_probe != NULL) {
        shmiface_probe probe;
        CHECK(dl->get_probe(seg, &probe, sizeof probe) == SHMIFACE_OK);
        CHECK(probe.version != NULL && probe.state != NULL && probe.destroyed_bit != 0);
        if (probe.version != NULL && probe.state != NULL) {
            CHECK(__atomic_load_n(probe.version, __ATOMIC_ACQUIRE) == 7);
            CHECK(dl->set_string(seg, "moved") == SHMIFACE_OK);
            CHECK(__atomic_load_n(probe.version, __ATOMIC_ACQUIRE) == 8);
            CHECK((__atomic_load_n(probe.state, __ATOMIC_ACQUIRE) & probe.destroyed_bit) == 0);
        }
    }
    CHECK(dl->destroy(seg) == SHMIFACE_OK);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--expect-fail") == 0) {
        return expect_fail(argv[2], argv[3]);
    }
    const char *path = argc > 1 ? argv[1] : NULL;

    CHECK(shmiface_dl_open(NULL, path) == -1);

    shmiface_dl dl;
    if (shmiface_dl_open(&dl, path) != 0) {
        fprintf(stderr, "%s\n", dl.error);
        return 1;
    }
    CHECK(dl.handle != NULL && dl.error[0] == '\0');
    CHECK(dl.abi_version() == SHMIFACE_ABI_VERSION);
    /* optional functions: this library has them */
    CHECK(dl.set_spin_ns != NULL && dl.spin_ns != NULL);
    if (dl.set_spin_ns != NULL && dl.spin_ns != NULL) {
        uint64_t spin = dl.spin_ns();
        CHECK(dl.set_spin_ns(777) == SHMIFACE_OK && dl.spin_ns() == 777);
        CHECK(dl.set_spin_ns(spin) == SHMIFACE_OK);
    }
    printf("loaded %s, libshmiface %s\n", path ? path : "(default search)", dl.version());

    char name[64];
    snprintf(name, sizeof name, "shmiface-test-dl-%ld", (long)getpid());
    dl.unlink(name); /* leftovers from a crashed run: NOT_FOUND is fine */

    shmiface_options opt = {0};
    opt.capacity = 64;
    shmiface_segment *seg = NULL;
    CHECK(dl.init_instance(name, &opt, &seg) == SHMIFACE_OK && seg != NULL);
    if (seg == NULL) {
        return CHECK_DONE("test_dl");
    }

    /* strings */
    char buf[128];
    size_t len = 99;
    CHECK(dl.get_string(seg, buf, sizeof buf, &len) == SHMIFACE_OK && len == 0 && buf[0] == '\0');
    CHECK(dl.set_string(seg, "through the loader") == SHMIFACE_OK);
    CHECK(dl.get_string(seg, buf, sizeof buf, &len) == SHMIFACE_OK);
    CHECK(len == strlen("through the loader") && strcmp(buf, "through the loader") == 0);
    CHECK(dl.get_string(seg, buf, 4, &len) == SHMIFACE_ERR_BUFFER_TOO_SMALL &&
          len == strlen("through the loader"));

    /* bytes, versions, compare-and-set */
    static const uint8_t blob[] = {'a', 0, 'b', 0, 'c'};
    uint64_t v = 0, v2 = 0;
    CHECK(dl.set_bytes(seg, blob, sizeof blob, 0, &v) == SHMIFACE_OK && v == 2);
    uint8_t out[16];
    CHECK(dl.get_bytes(seg, out, sizeof out, &len, &v2) == SHMIFACE_OK);
    CHECK(len == sizeof blob && memcmp(out, blob, sizeof blob) == 0 && v2 == v);
    CHECK(dl.compare_and_set(seg, v, (const uint8_t *)"xyz", 3, 0, &v2) == SHMIFACE_OK &&
          v2 == v + 1);
    CHECK(dl.compare_and_set(seg, v, (const uint8_t *)"lost", 4, 0, NULL) ==
          SHMIFACE_ERR_CONFLICT);
    CHECK(dl.get_string(seg, buf, sizeof buf, NULL) == SHMIFACE_OK && strcmp(buf, "xyz") == 0);
    char big[100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(dl.set_string(seg, big) == SHMIFACE_ERR_TOO_LARGE);
    CHECK(dl.last_error(NULL, 0) > 0);

    /* notify and wait */
    uint64_t seen = 0;
    shmiface_info info;
    CHECK(dl.get_info(seg, &info) == SHMIFACE_OK);
    seen = info.notify_count;
    CHECK(dl.wait(seg, &seen, 0) == SHMIFACE_ERR_TIMEOUT);
    CHECK(dl.notify(seg) == SHMIFACE_OK);
    CHECK(dl.wait(seg, &seen, 0) == SHMIFACE_OK && seen == info.notify_count + 1);
    struct notifier n = {&dl, seg};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, notify_later, &n) == 0);
    CHECK(dl.wait(seg, &seen, 10000) == SHMIFACE_OK); /* 10 s: a hang guard only */
    pthread_join(thread, NULL);
    CHECK(dl.get_string(seg, buf, sizeof buf, NULL) == SHMIFACE_OK &&
          strcmp(buf, "from the thread") == 0);

    CHECK(dl.get_info(seg, &info) == SHMIFACE_OK);
    CHECK(info.capacity == 64 && info.version == 4 && info.is_owner && info.owner_alive &&
          !info.destroyed && info.owner_pid == (int32_t)getpid());

    /* streams (1.1): this library has them */
    int has_streams = dl.create != NULL && dl.next != NULL && dl.loan != NULL &&
                      dl.publish != NULL && dl.discard != NULL && dl.borrow != NULL &&
                      dl.release != NULL && dl.get_info_ex != NULL;
    CHECK(has_streams);
    if (has_streams) check_streams(&dl, name);

    /* attach, destroy, gone */
    shmiface_segment *other = NULL;
    CHECK(dl.get_instance(name, &other) == SHMIFACE_OK);
    CHECK(dl.destroy(other) == SHMIFACE_OK);
    CHECK(dl.destroy(seg) == SHMIFACE_OK);
    CHECK(dl.destroy(NULL) == SHMIFACE_OK);
    CHECK(dl.get_instance(name, &other) == SHMIFACE_ERR_NOT_FOUND);
    CHECK(dl.unlink(name) == SHMIFACE_ERR_NOT_FOUND);
    CHECK(dl.init_instance("bad/name", NULL, &other) == SHMIFACE_ERR_INVALID_NAME);
    CHECK(dl.status_str(SHMIFACE_ERR_CONFLICT) != NULL && dl.status_str(12345) != NULL);

    shmiface_dl_close(&dl);
    CHECK(dl.handle == NULL && dl.init_instance == NULL);
    shmiface_dl_close(&dl); /* twice: no-op */
    return CHECK_DONE("test_dl");
}
