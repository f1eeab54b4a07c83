/* The C test harness (tests/c and tests/reliability): each test is a
 * function that returns 0 on success; CHECK and CHECK_STATUS report the
 * failing line, and CHECK_STATUS also requires a non-empty
 * shmiface_last_error detail for every failure. */
#ifndef SHMIFACE_TEST_HARNESS_H
#define SHMIFACE_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmiface.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            return 1;                                                        \
        }                                                                    \
    } while (0)

/* The call must return `expected`; a failure must also leave a detail. */
#define CHECK_STATUS(call, expected)                                         \
    do {                                                                     \
        shmiface_status got_ = (call);                                       \
        if (got_ != (expected)) {                                            \
            char detail_[512];                                               \
            shmiface_last_error(detail_, sizeof detail_);                    \
            fprintf(stderr, "  %s:%d: %s returned %d (%s), expected %d (%s); last error: %s\n", \
                    __FILE__, __LINE__, #call, (int)got_, shmiface_status_str(got_), \
                    (int)(expected), shmiface_status_str(expected), detail_); \
            return 1;                                                        \
        }                                                                    \
        if (got_ != SHMIFACE_OK && shmiface_last_error(NULL, 0) == 0) {      \
            fprintf(stderr, "  %s:%d: %s failed without a detail\n", __FILE__, __LINE__, #call); \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static int failures_;
static int passes_;

#define RUN_TEST(fn)                                                         \
    do {                                                                     \
        int rc_ = fn();                                                      \
        printf("%-64s %s\n", #fn, rc_ == 0 ? "ok" : "FAILED");               \
        fflush(stdout);                                                      \
        if (rc_ == 0) passes_++; else failures_++;                           \
    } while (0)

#define TEST_SUMMARY()                                                       \
    (printf("%d passed, %d failed\n", passes_, failures_), failures_ == 0 ? 0 : 1)

/* A segment name unique to this process and call, removed first. */
static inline const char *unique_name(const char *tag) {
    static char names[64][96];
    static unsigned next;
    char *n = names[next++ % 64];
    snprintf(n, sizeof names[0], "ct-%s-%ld-%u", tag, (long)getpid(), next);
    shmiface_unlink(n);
    return n;
}

static inline double test_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int test_exists(const char *name) {
    char path[300];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return access(path, F_OK) == 0;
}

#endif
