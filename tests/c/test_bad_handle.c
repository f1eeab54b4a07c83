/* Pointers that are not live handles (ABI 1.1, SHMIFACE_ERR_BAD_HANDLE):
 * every function that takes a handle, given a destroyed handle, a handle
 * destroyed twice, a live handle plus 8, a small integer, all bits set or
 * the address of real memory, returns BAD_HANDLE with a detail that names
 * the function and says why, writes no out-parameter, and never crashes;
 * the live handle keeps working throughout. (A handle copied into a child
 * by fork is refused too; that case is a unit test of src/ffi/handles.rs.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "harness.h"

#define SENTINEL_LEN ((size_t)0xabcdef)
#define SENTINEL_U64 UINT64_C(0x1234567812345678)

static int untouched = 1; /* cleared when a failing call wrote an out-parameter */

/* ---- one caller per function that takes a handle ---- */

static shmiface_status call_get_string(shmiface_segment *seg) {
    char buf[32] = "unchanged";
    size_t len = SENTINEL_LEN;
    shmiface_status st = shmiface_get_string(seg, buf, sizeof buf, &len);
    if (st != SHMIFACE_OK && (len != SENTINEL_LEN || strcmp(buf, "unchanged") != 0)) untouched = 0;
    return st;
}
static shmiface_status call_set_string(shmiface_segment *seg) { return shmiface_set_string(seg, "bad"); }
static shmiface_status call_set_string_notify(shmiface_segment *seg) {
    return shmiface_set_string_notify(seg, "bad");
}
static shmiface_status call_get_bytes(shmiface_segment *seg) {
    uint8_t buf[32];
    size_t len = SENTINEL_LEN;
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_get_bytes(seg, buf, sizeof buf, &len, &version);
    if (st != SHMIFACE_OK && (len != SENTINEL_LEN || version != SENTINEL_U64)) untouched = 0;
    return st;
}
static shmiface_status call_set_bytes(shmiface_segment *seg) {
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_set_bytes(seg, (const uint8_t *)"bad", 3, SHMIFACE_SET_NOTIFY, &version);
    if (st != SHMIFACE_OK && version != SENTINEL_U64) untouched = 0;
    return st;
}
static shmiface_status call_compare_and_set(shmiface_segment *seg) {
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_compare_and_set(seg, 1, (const uint8_t *)"bad", 3, 0, &version);
    if (st != SHMIFACE_OK && version != SENTINEL_U64) untouched = 0;
    return st;
}
static shmiface_status call_notify(shmiface_segment *seg) { return shmiface_notify(seg); }
static shmiface_status call_wait(shmiface_segment *seg) {
    uint64_t seen = SENTINEL_U64; /* differs from any count: a live handle returns at once */
    shmiface_status st = shmiface_wait(seg, &seen, 100);
    if (st != SHMIFACE_OK && seen != SENTINEL_U64) untouched = 0;
    return st;
}
static shmiface_status call_wait_no_cursor(shmiface_segment *seg) { return shmiface_wait(seg, NULL, 100); }
static shmiface_status call_get_info(shmiface_segment *seg) {
    shmiface_info info;
    memset(&info, 0xa5, sizeof info);
    shmiface_info before = info;
    shmiface_status st = shmiface_get_info(seg, &info);
    if (st != SHMIFACE_OK && memcmp(&info, &before, sizeof info) != 0) untouched = 0;
    return st;
}
static shmiface_status call_get_probe(shmiface_segment *seg) {
    shmiface_probe probe;
    memset(&probe, 0xa5, sizeof probe);
    shmiface_probe before = probe;
    shmiface_status st = shmiface_get_probe(seg, &probe, sizeof probe);
    if (st != SHMIFACE_OK && memcmp(&probe, &before, sizeof probe) != 0) untouched = 0;
    return st;
}
static shmiface_status call_destroy(shmiface_segment *seg) { return shmiface_destroy(seg); }

struct function {
    const char *name;
    shmiface_status (*call)(shmiface_segment *);
};

static const struct function FUNCTIONS[] = {
    {"shmiface_get_string", call_get_string},
    {"shmiface_set_string", call_set_string},
    {"shmiface_set_string_notify", call_set_string_notify},
    {"shmiface_get_bytes", call_get_bytes},
    {"shmiface_set_bytes", call_set_bytes},
    {"shmiface_compare_and_set", call_compare_and_set},
    {"shmiface_notify", call_notify},
    {"shmiface_wait", call_wait},
    {"shmiface_wait", call_wait_no_cursor},
    {"shmiface_get_info", call_get_info},
    {"shmiface_get_probe", call_get_probe},
    {"shmiface_destroy", call_destroy}, /* last: a bad destroy must not free anything either */
};
#define N_FUNCTIONS (sizeof FUNCTIONS / sizeof FUNCTIONS[0])

/* The call must return BAD_HANDLE, with "<function>: ... not a live handle: <why>". */
static int refused(const struct function *f, shmiface_segment *bad, const char *why) {
    untouched = 1;
    shmiface_status st = f->call(bad);
    char detail[512] = "";
    shmiface_last_error(detail, sizeof detail);
    size_t fl = strlen(f->name);
    int named = strncmp(detail, f->name, fl) == 0 && detail[fl] == ':';
    const char *reason = strstr(detail, "not a live handle: ");
    if (st != SHMIFACE_ERR_BAD_HANDLE || !named || reason == NULL || strlen(reason) < 24 ||
        (why != NULL && strstr(reason, why) == NULL) || !untouched) {
        fprintf(stderr, "  %s(%p) returned %d (%s), expected %d; detail \"%s\"%s%s\n", f->name,
                (void *)bad, (int)st, shmiface_status_str(st), SHMIFACE_ERR_BAD_HANDLE, detail,
                why ? "; wanted a reason with: " : "", why ? why : "");
        if (!untouched) fprintf(stderr, "  (an out-parameter was written)\n");
        return 1;
    }
    return 0;
}

/* The live handle reads back `expect` and still sets, gets and notifies. */
static int still_works(shmiface_segment *live, const char *expect) {
    char buf[64];
    size_t len = 0;
    shmiface_info info;
    uint64_t seen = 0;
    CHECK_STATUS(shmiface_get_string(live, buf, sizeof buf, &len), SHMIFACE_OK);
    CHECK(strcmp(buf, expect) == 0 && len == strlen(expect));
    CHECK_STATUS(shmiface_get_info(live, &info), SHMIFACE_OK);
    CHECK(info.is_owner && info.owner_alive && !info.destroyed);
    seen = info.notify_count;
    CHECK_STATUS(shmiface_set_string_notify(live, "again"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(live, &seen, 0), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(live, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "again") == 0);
    CHECK_STATUS(shmiface_set_string(live, expect), SHMIFACE_OK);
    return 0;
}

static shmiface_segment *make(const char *tag, const char *value) {
    shmiface_segment *seg = NULL;
    if (shmiface_init_instance(unique_name(tag), NULL, &seg) != SHMIFACE_OK) return NULL;
    if (value && shmiface_set_string(seg, value) != SHMIFACE_OK) return NULL;
    return seg;
}

static int test_every_function_refuses_every_bad_handle(void) {
    shmiface_segment *live = make("live", "live");
    shmiface_segment *attached = NULL, *once = make("once", NULL), *twice = make("twice", NULL);
    CHECK(live && once && twice);
    shmiface_info info;
    CHECK_STATUS(shmiface_get_info(live, &info), SHMIFACE_OK);
    char live_name[96];
    snprintf(live_name, sizeof live_name, "%s", unique_name("attached"));
    CHECK_STATUS(shmiface_init_instance(live_name, NULL, &attached), SHMIFACE_OK);
    shmiface_segment *attacher = NULL;
    CHECK_STATUS(shmiface_get_instance(live_name, &attacher), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(attacher), SHMIFACE_OK); /* an attacher's handle, destroyed */
    CHECK_STATUS(shmiface_destroy(once), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(twice), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(twice), SHMIFACE_ERR_BAD_HANDLE);
    CHECK(strstr(shmiface_status_str(SHMIFACE_ERR_BAD_HANDLE), "handle") != NULL);

    int local = 42; /* real, readable memory that is not a handle */
    struct {
        const char *what;
        shmiface_segment *seg;
        const char *why; /* a word the reason must contain, or NULL */
    } bad[] = {
        {"destroyed", once, "destroyed already"},
        {"destroyed twice", twice, "destroyed already"},
        {"an attacher's, destroyed", attacher, "destroyed already"},
        {"live + 8", (shmiface_segment *)((char *)live + 8), NULL},
        {"live - 1", (shmiface_segment *)((char *)live - 1), NULL},
        {"5", (shmiface_segment *)(uintptr_t)5, "never made by this library"},
        {"all bits set", (shmiface_segment *)(uintptr_t)-1, "never made by this library"},
        {"a stack address", (shmiface_segment *)(void *)&local, "never made by this library"},
        {"a static address", (shmiface_segment *)(void *)FUNCTIONS, "never made by this library"},
    };
    int failed = 0;
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        for (size_t f = 0; f < N_FUNCTIONS; f++) {
            if (refused(&FUNCTIONS[f], bad[b].seg, bad[b].why)) {
                fprintf(stderr, "    (the bad handle: %s)\n", bad[b].what);
                failed++;
            }
        }
        if (still_works(live, "live")) return 1;
    }
    CHECK(failed == 0);
    CHECK(local == 42);
    /* The segment of the attacher's handle was not touched by its bad calls. */
    CHECK(still_works(attached, "") == 0);
    CHECK_STATUS(shmiface_destroy(attached), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(live), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(live), SHMIFACE_ERR_BAD_HANDLE);
    return 0;
}

/* A new handle may reuse a destroyed one's slot: the old value stays refused. */
static int test_a_reused_slot_does_not_revive_the_old_handle(void) {
    shmiface_segment *old = make("reuse-old", "old");
    CHECK(old != NULL);
    CHECK_STATUS(shmiface_destroy(old), SHMIFACE_OK);
    shmiface_segment *made[8];
    for (size_t i = 0; i < 8; i++) {
        made[i] = make("reuse-new", "new");
        CHECK(made[i] != NULL && made[i] != old);
    }
    for (size_t f = 0; f < N_FUNCTIONS; f++) CHECK(refused(&FUNCTIONS[f], old, NULL) == 0);
    for (size_t i = 0; i < 8; i++) {
        CHECK(still_works(made[i], "new") == 0);
        CHECK_STATUS(shmiface_destroy(made[i]), SHMIFACE_OK);
    }
    return 0;
}

/* Handles in use on other threads are not disturbed by bad handles nor by
 * other handles being made and destroyed. */
static shmiface_segment *SHARED;
static void *reader(void *arg) {
    (void)arg;
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        if (shmiface_get_string(SHARED, buf, sizeof buf, NULL) != SHMIFACE_OK) return (void *)1;
        if (strcmp(buf, "shared") != 0) return (void *)1;
    }
    return NULL;
}

static int test_lookups_race_with_other_handles(void) {
    SHARED = make("shared", "shared");
    CHECK(SHARED != NULL);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, reader, NULL) == 0);
    int failed = 0;
    for (int i = 0; i < 50; i++) {
        shmiface_segment *other = make("churn", NULL);
        if (!other || shmiface_destroy(other) != SHMIFACE_OK) failed++;
        if (shmiface_get_string(other, NULL, 0, NULL) != SHMIFACE_ERR_BAD_HANDLE) failed++;
    }
    for (int i = 0; i < 2; i++) {
        void *rc = NULL;
        CHECK(pthread_join(t[i], &rc) == 0 && rc == NULL);
    }
    CHECK(failed == 0);
    CHECK_STATUS(shmiface_destroy(SHARED), SHMIFACE_OK);
    return 0;
}

static int test_the_new_codes_and_the_minor_version(void) {
    CHECK(SHMIFACE_ERR_OVERWRITTEN == 17 && SHMIFACE_ERR_BAD_HANDLE == 18 && SHMIFACE_ERR_BUSY == 19);
    CHECK(SHMIFACE_ABI_VERSION == 1 && SHMIFACE_ABI_MINOR == 1 && shmiface_abi_version() == 1);
    for (int32_t s = 17; s <= 19; s++) CHECK(strcmp(shmiface_status_str(s), "unknown status code") != 0);
    CHECK(strcmp(shmiface_status_str(20), "unknown status code") == 0);
    /* NULL stays NULL_ARGUMENT (destroy: a no-op), never BAD_HANDLE. */
    CHECK_STATUS(shmiface_notify(NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_destroy(NULL), SHMIFACE_OK);
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN_TEST(test_every_function_refuses_every_bad_handle);
    RUN_TEST(test_a_reused_slot_does_not_revive_the_old_handle);
    RUN_TEST(test_lookups_race_with_other_handles);
    RUN_TEST(test_the_new_codes_and_the_minor_version);
    return TEST_SUMMARY();
}
