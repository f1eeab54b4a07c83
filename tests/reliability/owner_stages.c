/* Owner death at every stage, and the races of a half-finished creation,
 * made exact instead of left to chance.
 *
 * This program defines fcntl, ftruncate, posix_fallocate and mmap itself, so the library's calls to them land here
 * first (symbol interposition) and then go on to glibc's. A test "arms" a
 * stage; when the library reaches it, the hook either kills the process
 * (SIGKILL: an owner dying at exactly that point), or starts another
 * process that races the paused creator (a second init_instance, or an
 * attacher) and waits for it. The stages, in the order of a creation:
 *
 *   BEFORE_LOCK     the object exists (O_EXCL) but the owner lock is not taken
 *   BEFORE_SIZE     locked, still 0 bytes
 *   BEFORE_RESERVE  sized, pages not reserved
 *   BEFORE_MAP      reserved, not mapped
 *
 * The later steps (a creator that reserved and has not published, a
 * writer killed at each step of a set) have crash points of their own in
 * the library's test build: tests/crash_points.rs puts processes there.
 *
 * Usage: owner_stages            run every test
 *        owner_stages take NAME  (helper) init_instance, report, then wait to be killed
 *        owner_stages attach NAME (helper) get_instance; the status is the exit code
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

enum stage {
    NONE,
    BEFORE_LOCK,
    BEFORE_SIZE,
    BEFORE_RESERVE,
    BEFORE_MAP
};
static const char *const STAGE_NAMES[] = {"none", "before-lock", "before-size", "before-reserve",
                                          "before-map"};
enum action { DIE, RACE_TAKER, RACE_ATTACHER };

static volatile int armed_stage = NONE;
static enum action armed_action;
static const char *armed_name;
static char self_exe[4096];
static pid_t taker_pid;
static int attacher_status = -1;
static double attacher_seconds;

/* ---- the helper processes a hook starts ---- */

/* Starts `self_exe MODE NAME` with its standard output on a pipe. */
static pid_t start_helper(const char *mode, const char *name, int *read_fd) {
    int fds[2];
    if (pipe(fds) != 0) abort();
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self_exe, self_exe, mode, name, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

static void fire(int stage) {
    if (armed_stage != stage) return;
    armed_stage = NONE;
    int fd;
    switch (armed_action) {
    case DIE:
        kill(getpid(), SIGKILL);
        for (;;) pause();
    case RACE_TAKER: {
        /* Another process's init_instance while this creator is paused. */
        taker_pid = start_helper("take", armed_name, &fd);
        char c = 0;
        if (read(fd, &c, 1) != 1) c = 0;
        close(fd);
        break;
    }
    case RACE_ATTACHER: {
        /* Another process's get_instance while this creator is paused. */
        double t0 = test_now();
        pid_t pid = start_helper("attach", armed_name, &fd);
        close(fd);
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
        attacher_seconds = test_now() - t0;
        attacher_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        break;
    }
    }
}

/* ---- the interposed calls ---- */

#define REAL(fn)                                                               \
    static __typeof__(fn) *real_##fn;                                          \
    if (!real_##fn) {                                                          \
        void *p_ = dlsym(RTLD_NEXT, #fn);                                      \
        memcpy(&real_##fn, &p_, sizeof p_);                                    \
    }

int fcntl(int fd, int cmd, ...) {
    REAL(fcntl);
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (cmd == F_OFD_SETLK && arg) {
        const struct flock *fl = arg;
        if (fl->l_type == F_WRLCK && fl->l_start == 0) fire(BEFORE_LOCK);
    }
    return real_fcntl(fd, cmd, arg);
}

int ftruncate(int fd, off_t length) {
    REAL(ftruncate);
    fire(BEFORE_SIZE);
    return real_ftruncate(fd, length);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
    REAL(posix_fallocate);
    fire(BEFORE_RESERVE);
    return real_posix_fallocate(fd, offset, len);
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    REAL(mmap);
    if (fd >= 0 && (flags & MAP_SHARED)) fire(BEFORE_MAP);
    return real_mmap(addr, length, prot, flags, fd, offset);
}

/* ---- helpers ---- */

static int helper_take(const char *name) {
    shmiface_segment *seg = NULL;
    shmiface_status st = shmiface_init_instance(name, NULL, &seg);
    if (st == SHMIFACE_OK) st = shmiface_set_string(seg, "taker");
    char c = (char)('A' + st);
    if (write(1, &c, 1) != 1) return 1;
    for (;;) pause();
}

static int helper_attach(const char *name) {
    shmiface_segment *seg = NULL;
    shmiface_status st = shmiface_get_instance(name, &seg);
    if (st == SHMIFACE_OK) shmiface_destroy(seg);
    return st;
}

/* Runs init_instance in a child armed to die at `stage`; 0 if it did. */
static int child_dies_creating(const char *name, int stage) {
    pid_t pid = fork();
    if (pid == 0) {
        armed_stage = stage;
        armed_action = DIE;
        shmiface_segment *seg = NULL;
        shmiface_status st = shmiface_init_instance(name, NULL, &seg);
        _exit(100 + st); /* the hook never let it get here */
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL ? 0 : 1;
}

static char value[256];

static int get_value(shmiface_segment *seg) {
    size_t len = 0;
    return shmiface_get_string(seg, value, sizeof value, &len);
}

/* ---- owner death before the segment is ready ---- */

/* The creator dies at `stage`: an attacher gets NOT_READY within a bounded
 * time (never a hang, never INCOMPATIBLE), and init_instance takes the
 * name over as a fresh segment. */
static int dies_at(int stage) {
    const char *name = unique_name(STAGE_NAMES[stage]);
    CHECK(child_dies_creating(name, stage) == 0);
    CHECK(test_exists(name));
    shmiface_segment *seg = NULL, *owner = NULL;
    double t0 = test_now();
    CHECK_STATUS(shmiface_get_instance(name, &seg), SHMIFACE_ERR_NOT_READY);
    double waited = test_now() - t0;
    printf("  creator killed %s: attach gave NOT_READY after %.0f ms\n", STAGE_NAMES[stage],
           waited * 1e3);
    CHECK(waited < 30.0); /* hang guard; the library's bound is 1 s */
    CHECK_STATUS(shmiface_init_instance(name, NULL, &owner), SHMIFACE_OK);
    shmiface_info info;
    CHECK_STATUS(shmiface_get_info(owner, &info), SHMIFACE_OK);
    CHECK(info.is_owner && info.owner_alive && info.version == 0 && info.length == 0);
    CHECK_STATUS(shmiface_get_instance(name, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(owner, "fresh"), SHMIFACE_OK);
    CHECK_STATUS(get_value(seg), SHMIFACE_OK);
    CHECK(strcmp(value, "fresh") == 0);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(owner), SHMIFACE_OK);
    CHECK(!test_exists(name));
    return 0;
}

static int creator_killed_before_lock(void) { return dies_at(BEFORE_LOCK); }
static int creator_killed_before_size(void) { return dies_at(BEFORE_SIZE); }
static int creator_killed_before_reserve(void) { return dies_at(BEFORE_RESERVE); }
static int creator_killed_before_map(void) { return dies_at(BEFORE_MAP); }

/* ---- owner death while others wait ---- */

struct waiter {
    shmiface_segment *seg;
    uint64_t seen;
    volatile int done;
    volatile shmiface_status status;
    pthread_t thread;
};

static void *wait_thread(void *p) {
    struct waiter *w = p;
    w->status = shmiface_wait(w->seg, &w->seen, -1);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int start_waiters(struct waiter *w, int n, shmiface_segment *seg) {
    shmiface_info info;
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    uint32_t before = info.waiters;
    for (int i = 0; i < n; i++) {
        w[i].seg = seg;
        w[i].seen = info.notify_count;
        w[i].done = 0;
        CHECK(pthread_create(&w[i].thread, NULL, wait_thread, &w[i]) == 0);
    }
    double t0 = test_now();
    do {
        CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
        CHECK(test_now() - t0 < 30.0);
    } while (info.waiters < before + (uint32_t)n);
    usleep(100 * 1000); /* past the spin: really asleep */
    return 0;
}

static int join_waiters(struct waiter *w, int n, shmiface_status expect) {
    for (int i = 0; i < n; i++) {
        double t0 = test_now();
        while (!__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST)) {
            CHECK(test_now() - t0 < 30.0); /* hang guard */
            usleep(1000);
        }
        pthread_join(w[i].thread, NULL);
        CHECK(w[i].status == expect);
    }
    return 0;
}

static int owner_killed_while_others_wait(void) {
    const char *name = unique_name("waiting");
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        shmiface_segment *seg = NULL;
        if (shmiface_init_instance(name, NULL, &seg) != SHMIFACE_OK) _exit(2);
        if (shmiface_set_string(seg, "kept") != SHMIFACE_OK) _exit(3);
        if (write(ready[1], "r", 1) != 1) _exit(4);
        for (;;) pause();
    }
    close(ready[1]);
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    shmiface_segment *seg = NULL, *owner = NULL;
    CHECK_STATUS(shmiface_get_instance(name, &seg), SHMIFACE_OK);
    struct waiter w[3];
    if (start_waiters(w, 3, seg)) return 1;

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    shmiface_info info;
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(!info.owner_alive && info.owner_pid == pid);
    /* The owner's death is no notification: nobody wakes with OK. */
    usleep(300 * 1000);
    for (int i = 0; i < 3; i++) CHECK(!__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST));
    /* The survivors keep working: a set with notify wakes every waiter. */
    CHECK_STATUS(shmiface_set_string_notify(seg, "still here"), SHMIFACE_OK);
    if (join_waiters(w, 3, SHMIFACE_OK)) return 1;

    /* A new owner takes over while they wait, notifies, then destroys. */
    if (start_waiters(w, 3, seg)) return 1;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &owner), SHMIFACE_OK);
    CHECK_STATUS(get_value(owner), SHMIFACE_OK);
    CHECK(strcmp(value, "still here") == 0);
    CHECK_STATUS(shmiface_notify(owner), SHMIFACE_OK);
    if (join_waiters(w, 3, SHMIFACE_OK)) return 1;
    if (start_waiters(w, 3, seg)) return 1;
    CHECK_STATUS(shmiface_destroy(owner), SHMIFACE_OK);
    if (join_waiters(w, 3, SHMIFACE_ERR_DESTROYED)) return 1;
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK(!test_exists(name));
    return 0;
}

/* ---- races with a creator paused mid-creation ---- */

/* Another init_instance runs while the creator has made the object but not
 * yet locked it: exactly one of them may end up the owner of the name. */
static int a_second_creator_racing_the_first_leaves_one_owner(void) {
    const char *name = unique_name("race-take");
    armed_stage = BEFORE_LOCK;
    armed_action = RACE_TAKER;
    armed_name = name;
    shmiface_segment *seg = NULL;
    shmiface_status st = shmiface_init_instance(name, NULL, &seg);
    CHECK(armed_stage == NONE && taker_pid > 0);
    shmiface_segment *reader = NULL;
    CHECK_STATUS(shmiface_get_instance(name, &reader), SHMIFACE_OK);
    CHECK_STATUS(get_value(reader), SHMIFACE_OK);
    printf("  paused creator got %s; the name holds \"%s\"\n", shmiface_status_str(st), value);
    if (st == SHMIFACE_OK) shmiface_destroy(seg);
    shmiface_destroy(reader);
    kill(taker_pid, SIGKILL);
    waitpid(taker_pid, NULL, 0);
    shmiface_unlink(name);
    /* The taker created and owns the name, so the paused creator must not
     * also report success (it would own an object no one can attach to). */
    CHECK(strcmp(value, "taker") == 0);
    CHECK_STATUS(st, SHMIFACE_ERR_EXISTS);
    return 0;
}

/* An attacher arriving at each stage of a creation in progress gets
 * NOT_READY in bounded time: never INCOMPATIBLE, never a hang. */
static int attach_during(int stage) {
    const char *name = unique_name("race-attach");
    armed_stage = stage;
    armed_action = RACE_ATTACHER;
    armed_name = name;
    attacher_status = -1;
    shmiface_segment *seg = NULL;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK(armed_stage == NONE);
    printf("  attacher during %s: %s after %.0f ms\n", STAGE_NAMES[stage],
           shmiface_status_str(attacher_status), attacher_seconds * 1e3);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK(attacher_status == SHMIFACE_ERR_NOT_READY);
    CHECK(attacher_seconds < 30.0);
    return 0;
}

static int attacher_during_creation_before_lock(void) { return attach_during(BEFORE_LOCK); }
static int attacher_during_creation_before_reserve(void) { return attach_during(BEFORE_RESERVE); }

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) return 2;
    self_exe[n] = 0;
    if (argc == 3 && strcmp(argv[1], "take") == 0) return helper_take(argv[2]);
    if (argc == 3 && strcmp(argv[1], "attach") == 0) return helper_attach(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    RUN_TEST(creator_killed_before_lock);
    RUN_TEST(creator_killed_before_size);
    RUN_TEST(creator_killed_before_reserve);
    RUN_TEST(creator_killed_before_map);
    RUN_TEST(owner_killed_while_others_wait);
    RUN_TEST(a_second_creator_racing_the_first_leaves_one_owner);
    RUN_TEST(attacher_during_creation_before_lock);
    RUN_TEST(attacher_during_creation_before_reserve);
    return TEST_SUMMARY();
}
