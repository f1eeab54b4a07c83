/*
 * peer — the C side of the bridge tests (C11, ABI 1.1).
 *
 *   peer produce NAME COUNT HISTORY RATE
 *       creates NAME (capacity 64, HISTORY values kept), sets value 1,
 *       prints "ready", waits for a line on standard input, sets values
 *       2..COUNT at RATE a second (notifying), prints "done", and destroys
 *       the segment when standard input ends.
 *   peer await NAME HEX SECONDS
 *       waits until NAME exists and its value is the bytes HEX, prints
 *       "seen" and exits 0; exits 1 after SECONDS.
 *
 * Value i is "%08u:" and then i % 40 letters that depend on i, so that a
 * reader can tell a lost, repeated, reordered or torn value (value.py).
 */
#define _POSIX_C_SOURCE 200809L

#include <shmiface.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *call, shmiface_status status) {
    char detail[256];
    shmiface_last_error(detail, sizeof detail);
    fprintf(stderr, "[peer] %s: %s (%s)\n", call, shmiface_status_str(status), detail);
    return 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
    uint64_t now = now_ns();
    if (t <= now) return;
    struct timespec d = {(time_t)((t - now) / 1000000000u), (long)((t - now) % 1000000000u)};
    nanosleep(&d, NULL);
}

static size_t value(uint64_t i, char *out) {
    int n = snprintf(out, 16, "%08llu:", (unsigned long long)i);
    size_t len = (size_t)n;
    for (uint64_t k = 0; k < i % 40; k++) out[len++] = (char)('a' + (i * 7 + k) % 26);
    return len;
}

static int produce(const char *name, uint64_t count, uint32_t history, uint64_t rate) {
    shmiface_create_options o = {.capacity = 64, .history = history};
    shmiface_segment *seg = NULL;
    shmiface_status s = shmiface_create(name, &o, sizeof o, &seg);
    if (s != SHMIFACE_OK) return fail("shmiface_create", s);
    char buf[64];
    char line[64];
    uint64_t t0 = 0;
    for (uint64_t i = 1; i <= count; i++) {
        if (i == 2) {
            printf("ready\n");
            if (!fgets(line, sizeof line, stdin)) break;
            t0 = now_ns();
        }
        if (i > 2 && rate) sleep_until(t0 + (i - 2) * 1000000000u / rate);
        size_t len = value(i, buf);
        s = shmiface_set_bytes(seg, (const uint8_t *)buf, len, SHMIFACE_SET_NOTIFY, NULL);
        if (s != SHMIFACE_OK) return fail("shmiface_set_bytes", s);
    }
    printf("done\n");
    while (fgets(line, sizeof line, stdin)) {
    }
    shmiface_destroy(seg);
    return 0;
}

static int unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = strlen(hex) / 2;
    if (n > cap) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) return -1;
        out[i] = (uint8_t)b;
    }
    return (int)n;
}

static int await_value(const char *name, const char *hex, double seconds) {
    uint8_t want[4096], got[4096];
    int want_len = unhex(hex, want, sizeof want);
    if (want_len < 0) return 2;
    uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
    shmiface_segment *seg = NULL;
    while (now_ns() < deadline) {
        if (!seg && shmiface_get_instance(name, &seg) != SHMIFACE_OK) seg = NULL;
        if (seg) {
            size_t len = 0;
            uint64_t version = 0;
            if (shmiface_get_bytes(seg, got, sizeof got, &len, &version) == SHMIFACE_OK &&
                len == (size_t)want_len && memcmp(got, want, len) == 0) {
                printf("seen\n");
                shmiface_destroy(seg);
                return 0;
            }
        }
        sleep_until(now_ns() + 10000000u);
    }
    fprintf(stderr, "[peer] %s never held the expected value\n", name);
    shmiface_destroy(seg);
    return 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], strtoull(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10),
                       strtoull(argv[5], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "await") == 0) return await_value(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: peer produce NAME COUNT HISTORY RATE | peer await NAME HEX SECONDS\n");
    return 2;
}
