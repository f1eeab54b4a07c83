/* Threads and forked processes through the C ABI: concurrent readers never
 * see a torn value, a notification reaches a waiter in another process, a
 * destroy wakes it, and the OS's permissions decide who may attach. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <grp.h>
#include <sys/wait.h>

#include "harness.h"

#define CAP 200
#define WRITES 20000

struct shared {
    shmiface_segment *seg;
    int torn;
    long reads;
};

/* Values are a letter repeated a length derived from the letter, so a mix
 * of two writes always shows. */
static size_t make_value(unsigned i, char *out) {
    char c = (char)('a' + i % 26);
    size_t len = 1 + (i % 26) * 7;
    memset(out, c, len);
    out[len] = '\0';
    return len;
}

static int whole(const char *v, size_t len) {
    if (len == 0) return 1;
    if (len != 1 + (size_t)(v[0] - 'a') * 7) return 0;
    for (size_t i = 1; i < len; i++)
        if (v[i] != v[0]) return 0;
    return 1;
}

static void *writer(void *arg) {
    struct shared *s = arg;
    char v[CAP + 1];
    for (unsigned i = 0; i < WRITES; i++) {
        make_value(i, v);
        if (shmiface_set_string(s->seg, v) != SHMIFACE_OK) s->torn++;
    }
    return NULL;
}

static void *reader(void *arg) {
    struct shared *s = arg;
    char v[CAP + 1];
    size_t len;
    for (int i = 0; i < WRITES; i++) {
        if (shmiface_get_string(s->seg, v, sizeof v, &len) != SHMIFACE_OK || !whole(v, len))
            __atomic_add_fetch(&s->torn, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->reads, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int test_threads_read_only_whole_values(void) {
    const char *name = unique_name("threads");
    shmiface_options o = {CAP, 0, 0};
    struct shared s = {NULL, 0, 0};
    pthread_t w[2], r[3];
    CHECK_STATUS(shmiface_init_instance(name, &o, &s.seg), SHMIFACE_OK);
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&w[i], NULL, writer, &s) == 0);
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&r[i], NULL, reader, &s) == 0);
    for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
    for (int i = 0; i < 3; i++) pthread_join(r[i], NULL);
    CHECK(s.torn == 0);
    CHECK(s.reads == 3L * WRITES);
    CHECK_STATUS(shmiface_destroy(s.seg), SHMIFACE_OK);
    return 0;
}

struct waiter_arg {
    shmiface_segment *seg;
    shmiface_status result;
};

static void *wait_forever(void *arg) {
    struct waiter_arg *a = arg;
    uint64_t seen;
    shmiface_info info;
    shmiface_get_info(a->seg, &info);
    seen = info.notify_count;
    a->result = shmiface_wait(a->seg, &seen, -1);
    return NULL;
}

static int test_threads_wake_and_are_counted(void) {
    const char *name = unique_name("tw");
    shmiface_segment *seg = NULL;
    struct waiter_arg args[3];
    pthread_t t[3];
    shmiface_info info;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    for (int i = 0; i < 3; i++) {
        args[i].seg = seg;
        args[i].result = -1;
        CHECK(pthread_create(&t[i], NULL, wait_forever, &args[i]) == 0);
    }
    do { /* until all three are inside wait */
        usleep(1000);
        CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    } while (info.waiters < 3);
    CHECK_STATUS(shmiface_notify(seg), SHMIFACE_OK);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK(args[i].result == SHMIFACE_OK);
    }
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(info.waiters == 0);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

/* Runs `child` in a forked process and returns its exit code. */
static int in_child(int (*child)(const char *), const char *name) {
    pid_t pid = fork();
    int status = 0;
    if (pid == 0) _exit(child(name));
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    if (WEXITSTATUS(status) != 0) fprintf(stderr, "  child exited %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}

static int child_answers(const char *name) {
    shmiface_segment *seg = NULL;
    uint64_t seen = 0;
    char buf[64];
    if (shmiface_get_instance(name, &seg) != SHMIFACE_OK) return 10;
    /* Seen 0: the parent's first notification may come before or after this. */
    if (shmiface_wait(seg, &seen, 30000) != SHMIFACE_OK) return 11;
    if (shmiface_get_string(seg, buf, sizeof buf, NULL) != SHMIFACE_OK) return 12;
    if (strcmp(buf, "ping") != 0) return 13;
    if (shmiface_set_string_notify(seg, "pong") != SHMIFACE_OK) return 14;
    /* Then wait until the owner destroys the segment. */
    for (;;) {
        shmiface_status s = shmiface_wait(seg, &seen, 30000);
        if (s == SHMIFACE_ERR_DESTROYED) break;
        if (s != SHMIFACE_OK) return 15;
    }
    return shmiface_destroy(seg) == SHMIFACE_OK ? 0 : 16;
}

static int test_processes_notify_and_destroy(void) {
    const char *name = unique_name("fork");
    shmiface_segment *seg = NULL;
    pid_t pid;
    int status = 0;
    uint64_t seen = 0;
    char buf[64] = "";
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    pid = fork();
    if (pid == 0) _exit(child_answers(name));
    CHECK(pid > 0);
    CHECK_STATUS(shmiface_set_string_notify(seg, "ping"), SHMIFACE_OK);
    seen = 1;
    while (strcmp(buf, "pong") != 0) {
        CHECK_STATUS(shmiface_wait(seg, &seen, 30000), SHMIFACE_OK);
        CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    }
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}

/* Only the uid matters for a 0600 or 0644 object owned by root; some
 * sandboxes refuse the group calls, so they are best effort. */
static int become_nobody(void) {
    (void)setgroups(0, NULL);
    (void)setgid(65534);
    return setuid(65534) == 0 && geteuid() == 65534 ? 0 : -1;
}

static int child_refused(const char *name) {
    shmiface_segment *seg = NULL;
    if (become_nobody() != 0) return 20;
    return shmiface_get_instance(name, &seg) == SHMIFACE_ERR_PERMISSION ? 0 : 21;
}

static int reads_only(shmiface_segment *seg, const char *name) {
    shmiface_segment *other = NULL;
    char buf[32];
    uint64_t seen = 0;
    if (shmiface_get_string(seg, buf, sizeof buf, NULL) != SHMIFACE_OK) return 32;
    if (strcmp(buf, "public") != 0) return 33;
    if (shmiface_set_string(seg, "defaced") != SHMIFACE_ERR_PERMISSION) return 34;
    if (shmiface_notify(seg) != SHMIFACE_ERR_PERMISSION) return 35;
    if (shmiface_wait(seg, &seen, 0) != SHMIFACE_OK) return 36; /* one set_notify happened */
    if (shmiface_init_instance(name, NULL, &other) != SHMIFACE_ERR_EXISTS) return 37;
    return 0;
}

static int child_reads_only(const char *name) {
    shmiface_segment *seg = NULL;
    int rc;
    if (become_nobody() != 0) return 30;
    if (shmiface_get_instance(name, &seg) != SHMIFACE_OK) return 31;
    rc = reads_only(seg, name);
    return shmiface_destroy(seg) == SHMIFACE_OK ? rc : 38;
}

static int test_permissions_decide_who_attaches(void) {
    const char *private_name = unique_name("private");
    const char *public_name = unique_name("public");
    shmiface_options public_mode = {64, 0644, 0};
    shmiface_segment *a = NULL, *b = NULL;
    char buf[32];
    if (geteuid() != 0) {
        printf("  (skipped: needs root to run a child as nobody)\n");
        return 0;
    }
    CHECK_STATUS(shmiface_init_instance(private_name, NULL, &a), SHMIFACE_OK);
    CHECK(in_child(child_refused, private_name) == 0);
    CHECK_STATUS(shmiface_init_instance(public_name, &public_mode, &b), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string_notify(b, "public"), SHMIFACE_OK);
    CHECK(in_child(child_reads_only, public_name) == 0);
    CHECK_STATUS(shmiface_get_string(b, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "public") == 0);
    CHECK_STATUS(shmiface_destroy(a), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(b), SHMIFACE_OK);
    return 0;
}

int main(void) {
    RUN_TEST(test_threads_read_only_whole_values);
    RUN_TEST(test_threads_wake_and_are_counted);
    RUN_TEST(test_processes_notify_and_destroy);
    RUN_TEST(test_permissions_decide_who_attaches);
    return TEST_SUMMARY();
}
