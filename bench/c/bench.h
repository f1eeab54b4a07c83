/* bench.h — what every C benchmark shares: a clock, medians, pinning,
 * status checks and the JSON file that bench/report.py reads.
 *
 * Each program writes one JSON object:
 *   {"source": ..., "quick": bool,
 *    "metrics": [{"id", "label", "unit", "median", "runs": [...]}, ...],
 *    "samples": {"id": [ns, ...], ...}}
 * Ids are stable: report.py computes the targets from them.
 * Built with -D_GNU_SOURCE (CPU affinity, MAP_ANONYMOUS). */
#ifndef SHMIFACE_BENCH_H
#define SHMIFACE_BENCH_H


#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmiface.h"

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* A library call that must succeed; on failure, the status and the detail. */
#define BENCH_OK(call)                                                                   \
    do {                                                                                 \
        shmiface_status st_ = (call);                                                    \
        if (st_ != SHMIFACE_OK) {                                                        \
            char detail_[512];                                                           \
            shmiface_last_error(detail_, sizeof detail_);                                \
            die("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, shmiface_status_str(st_), \
                detail_);                                                                \
        }                                                                                \
    } while (0)

/* Runs on one CPU so that two partners of a ping-pong never share one
 * (the machine has two); every variant gets the same placement. */
static inline void pin_cpu(int cpu) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)n, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static inline double median_of(const double *v, size_t n) {
    double *s = malloc(n * sizeof *s);
    if (!s) die("out of memory");
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

/* The q-quantile (0..1) of samples sorted in place. */
static inline double quantile_sorted(uint64_t *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i];
}

/* Figures of one quantity over the rounds of a run. */
#define BENCH_MAX_ROUNDS 64
typedef struct {
    const char *id, *label, *unit;
    double runs[BENCH_MAX_ROUNDS];
    size_t n;
} series;

static inline void series_add(series *s, double v) {
    if (s->n < BENCH_MAX_ROUNDS) s->runs[s->n++] = v;
}

typedef struct {
    FILE *f;
    int metrics, samples, in_samples;
} json_out;

static inline json_out json_open(const char *path, const char *source, int quick) {
    json_out j = {fopen(path, "w"), 0, 0, 0};
    if (!j.f) die("cannot write %s: %s", path, strerror(errno));
    fprintf(j.f, "{\"source\": \"%s\", \"quick\": %s,\n \"metrics\": [", source,
            quick ? "true" : "false");
    return j;
}

static inline void json_metric(json_out *j, const series *s) {
    if (s->n == 0) die("no figures for %s", s->id);
    fprintf(j->f, "%s\n  {\"id\": \"%s\", \"label\": \"%s\", \"unit\": \"%s\", \"median\": %.3f, \"runs\": [",
            j->metrics++ ? "," : "", s->id, s->label, s->unit, median_of(s->runs, s->n));
    for (size_t i = 0; i < s->n; i++) fprintf(j->f, "%s%.3f", i ? ", " : "", s->runs[i]);
    fputs("]}", j->f);
    fprintf(stderr, "  %-34s %12.1f %s\n", s->id, median_of(s->runs, s->n), s->unit);
}

static inline void json_begin_samples(json_out *j) {
    if (!j->in_samples) fputs("],\n \"samples\": {", j->f);
    j->in_samples = 1;
}

static inline void json_samples(json_out *j, const char *id, const uint64_t *v, size_t n) {
    json_begin_samples(j);
    fprintf(j->f, "%s\n  \"%s\": [", j->samples++ ? "," : "", id);
    for (size_t i = 0; i < n; i++) fprintf(j->f, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
    fputc(']', j->f);
}

static inline void json_close(json_out *j) {
    json_begin_samples(j);
    fputs("}}\n", j->f);
    if (fclose(j->f) != 0) die("writing the results failed: %s", strerror(errno));
}

/* A name no other run uses at the same time. */
static inline void unique_name(char *buf, size_t len, const char *what) {
    snprintf(buf, len, "shmiface-bench-%s-%ld", what, (long)getpid());
}

#endif
