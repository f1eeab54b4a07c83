/*
 * producer — the stream demo's producer (C11, ABI 1.1).
 *
 *   producer [--count N] [--history H] [--rate PER_S] [NAME]
 *
 * Creates the persistent segment NAME (default shmiface-stream-demo) that
 * keeps its last H values (default 256), waits for a line on standard
 * input (or its end: `< /dev/null` starts at once), then sets N values
 * (default 100000), "tick <version>" each, at PER_S values a second
 * (default 1000000; 0 = as fast as it can). Readers never slow it down: a
 * reader that falls more than H values behind skips the overwritten ones
 * and learns exactly how many from the version numbers. The segment is
 * persistent, so its last H values stay readable after this program
 * exits; remove it with `late_joiner --unlink NAME` (or shmiface rm).
 * Exits 0, or 1 on an error.
 */
#define _POSIX_C_SOURCE 200809L

#include <shmiface.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int report(const char *call, shmiface_status status) {
    char detail[256];
    shmiface_last_error(detail, sizeof detail);
    fprintf(stderr, "[producer] %s: %s%s%s%s\n", call, shmiface_status_str(status),
            detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
    return 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--count N] [--history H] [--rate PER_S] [NAME]\n", argv0);
    return 2;
}

/* A leftover of an earlier run whose producer has gone (a persistent
 * segment outlives it) would be taken over with its history and versions:
 * remove it first, so that this run's versions start at 1. */
static void remove_stale(const char *name) {
    shmiface_segment *old = NULL;
    if (shmiface_get_instance(name, &old) != SHMIFACE_OK) return;
    shmiface_info info;
    int stale = shmiface_get_info(old, &info) == SHMIFACE_OK && !info.owner_alive;
    shmiface_destroy(old);
    if (stale && shmiface_unlink(name) == SHMIFACE_OK)
        printf("[producer] removed a leftover \"%s\" of an earlier run\n", name);
}

int main(int argc, char **argv) {
    uint64_t count = 100000, rate = 1000000;
    uint32_t history = 256;
    const char *name = "shmiface-stream-demo";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--count") == 0)
            count = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--history") == 0)
            history = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--rate") == 0)
            rate = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] == '-' || i != argc - 1)
            return usage(argv[0]);
        else
            name = argv[i];
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    remove_stale(name);
    shmiface_create_options o = {.capacity = 64, .flags = SHMIFACE_PERSISTENT, .history = history};
    shmiface_segment *seg = NULL;
    shmiface_status st = shmiface_create(name, &o, sizeof o, &seg);
    if (st != SHMIFACE_OK) {
        report("shmiface_create", st);
        if (st == SHMIFACE_ERR_EXISTS) fprintf(stderr, "[producer] another producer owns \"%s\"\n", name);
        return 1;
    }
    printf("[producer] created \"%s\": 64-byte values, keeps the last %u, persistent\n", name, history);
    printf("[producer] ready: starts at a line on standard input (or its end)\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin) && ferror(stdin)) {
        shmiface_destroy(seg);
        return 1;
    }

    const uint64_t start = now_ns();
    int rc = 0;
    for (uint64_t n = 1; n <= count; n++) {
        if (rate) /* paced: value n is due at n / rate seconds */
            while (now_ns() - start < (n - 1) * 1000000000u / rate) {
            }
        char value[64];
        int len = snprintf(value, sizeof value, "tick %llu", (unsigned long long)n);
        uint64_t version = 0;
        st = shmiface_set_bytes(seg, (const uint8_t *)value, (size_t)len, 0, &version);
        if (st != SHMIFACE_OK) {
            rc = report("shmiface_set_bytes", st);
            break;
        }
        if (version != n) {
            fprintf(stderr, "[producer] value %llu got version %llu: another writer?\n",
                    (unsigned long long)n, (unsigned long long)version);
            rc = 1;
            break;
        }
    }
    double ms = (double)(now_ns() - start) / 1e6;
    if (rc == 0)
        printf("[producer] sent %llu values in %.1f ms (%.2f M/s); \"%s\" keeps the last %u\n",
               (unsigned long long)count, ms, (double)count / ms / 1000.0, name, history);
    /* A persistent segment's owner only gives up ownership here. */
    st = shmiface_destroy(seg);
    if (st != SHMIFACE_OK) rc = report("shmiface_destroy", st);
    return rc;
}
