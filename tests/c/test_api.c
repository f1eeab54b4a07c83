/* Every function of the C ABI, and every status a caller can provoke from
 * a single process, against the committed header and -lshmiface. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"

static int create(const char *name, uint64_t capacity, shmiface_segment **out) {
    shmiface_options o = {capacity, 0, 0};
    return shmiface_init_instance(name, &o, out);
}

static int test_card_round_trip(void) {
    const char *name = unique_name("card");
    shmiface_segment *owner = NULL, *other = NULL;
    char buf[256];
    size_t len = 99;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &owner), SHMIFACE_OK);
    CHECK(owner != NULL);
    CHECK_STATUS(shmiface_get_string(owner, buf, sizeof buf, &len), SHMIFACE_OK);
    CHECK(len == 0 && buf[0] == '\0');
    CHECK_STATUS(shmiface_get_instance(name, &other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(owner, "hello"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(other, buf, sizeof buf, &len), SHMIFACE_OK);
    CHECK(len == 5 && strcmp(buf, "hello") == 0);
    CHECK_STATUS(shmiface_set_string_notify(other, "world"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(owner, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "world") == 0);
    CHECK_STATUS(shmiface_destroy(other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(owner), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &other), SHMIFACE_ERR_NOT_FOUND);
    CHECK_STATUS(shmiface_destroy(NULL), SHMIFACE_OK);
    return 0;
}

static int test_defaults_and_info(void) {
    const char *name = unique_name("info");
    shmiface_segment *seg = NULL;
    shmiface_info info;
    shmiface_options zero = {0, 0, 0};
    CHECK_STATUS(shmiface_init_instance(name, &zero, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(info.capacity == 128);
    CHECK(info.mode == 0600);
    CHECK(info.length == 0 && info.version == 0 && info.notify_count == 0);
    CHECK(info.owner_pid == getpid() && info.owner_alive && info.is_owner && !info.destroyed);
    CHECK(info.waiters == 0);
    CHECK_STATUS(shmiface_set_string_notify(seg, "abc"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_notify(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(info.length == 3 && info.version == 1 && info.notify_count == 2);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_mode_is_exact_whatever_the_umask(void) {
    const char *name = unique_name("mode");
    shmiface_segment *seg = NULL;
    shmiface_options o = {64, 0644, 0};
    shmiface_info info;
    struct stat st;
    char path[300];
    mode_t old = umask(077);
    int rc = shmiface_init_instance(name, &o, &seg);
    umask(old);
    CHECK_STATUS(rc, SHMIFACE_OK);
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(info.mode == 0644);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_null_arguments(void) {
    const char *name = unique_name("null");
    shmiface_segment *seg = NULL;
    char buf[16];
    size_t len;
    uint64_t v;
    shmiface_info info;
    CHECK_STATUS(shmiface_init_instance(NULL, NULL, &seg), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_init_instance(name, NULL, NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_instance(NULL, &seg), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_instance(name, NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_string(NULL, buf, sizeof buf, &len), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_set_string(NULL, "x"), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_set_string_notify(NULL, "x"), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_bytes(NULL, (uint8_t *)buf, sizeof buf, &len, &v),
                 SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_set_bytes(NULL, (const uint8_t *)"x", 1, 0, &v), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_compare_and_set(NULL, 0, (const uint8_t *)"x", 1, 0, &v),
                 SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_notify(NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_wait(NULL, &v, 0), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_info(NULL, &info), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_unlink(NULL), SHMIFACE_ERR_NULL_ARGUMENT);

    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_set_string_notify(seg, NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_string(seg, NULL, 8, &len), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_bytes(seg, NULL, 8, &len, &v), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_set_bytes(seg, NULL, 3, 0, &v), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_compare_and_set(seg, 0, NULL, 3, 0, &v), SHMIFACE_ERR_NULL_ARGUMENT);
    CHECK_STATUS(shmiface_get_info(seg, NULL), SHMIFACE_ERR_NULL_ARGUMENT);
    /* NULL with length 0 is an empty value, not an error. */
    CHECK_STATUS(shmiface_set_bytes(seg, NULL, 0, 0, NULL), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_invalid_names(void) {
    char too_long[202];
    const char *bad[] = {"", ".hidden", "a/b", "../etc", "with space", "tab\t", "\xc3\xa9", too_long};
    shmiface_segment *seg = NULL;
    memset(too_long, 'n', 201);
    too_long[201] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_STATUS(shmiface_init_instance(bad[i], NULL, &seg), SHMIFACE_ERR_INVALID_NAME);
        CHECK_STATUS(shmiface_get_instance(bad[i], &seg), SHMIFACE_ERR_INVALID_NAME);
        CHECK_STATUS(shmiface_unlink(bad[i]), SHMIFACE_ERR_INVALID_NAME);
    }
    CHECK(seg == NULL); /* out-parameters are written only on success */
    too_long[200] = '\0'; /* exactly 200 bytes is allowed */
    CHECK_STATUS(shmiface_init_instance(too_long, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_invalid_arguments(void) {
    const char *name = unique_name("args");
    shmiface_segment *seg = NULL;
    shmiface_options huge = {SHMIFACE_MAX_CAPACITY + 1, 0, 0};
    shmiface_options flags = {64, 0, 2};
    shmiface_options mode = {64, 01777, 0};
    uint64_t seen = 0;
    CHECK_STATUS(shmiface_init_instance(name, &huge, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_init_instance(name, &flags, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_init_instance(name, &mode, &seg), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_get_instance(name, &seg), SHMIFACE_ERR_NOT_FOUND); /* nothing left behind */
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_bytes(seg, (const uint8_t *)"x", 1, 4, NULL), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_compare_and_set(seg, 0, (const uint8_t *)"x", 1, 8, NULL),
                 SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_wait(seg, &seen, -2), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_wait(seg, &seen, INT64_MIN), SHMIFACE_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_exists_while_the_owner_lives(void) {
    const char *name = unique_name("exists");
    shmiface_segment *seg = NULL, *again = NULL;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_init_instance(name, NULL, &again), SHMIFACE_ERR_EXISTS);
    CHECK(again == NULL);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_init_instance(name, NULL, &again), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(again), SHMIFACE_OK);
    return 0;
}

static int test_too_large_keeps_the_old_value(void) {
    const char *name = unique_name("large");
    shmiface_segment *seg = NULL;
    char big[20], buf[32];
    uint8_t exact[16];
    memset(big, 'x', 17);
    big[17] = '\0';
    memset(exact, 7, sizeof exact);
    CHECK_STATUS(create(name, 16, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, "old"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, big), SHMIFACE_ERR_TOO_LARGE);
    CHECK_STATUS(shmiface_set_string_notify(seg, big), SHMIFACE_ERR_TOO_LARGE);
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "old") == 0);
    CHECK_STATUS(shmiface_set_bytes(seg, exact, sizeof exact, 0, NULL), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_buffer_too_small_reports_the_length(void) {
    const char *name = unique_name("small");
    shmiface_segment *seg = NULL;
    char buf[8];
    uint8_t bytes[4];
    size_t len = 0;
    uint64_t version = 0;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, "12345678"), SHMIFACE_OK);
    /* 8 bytes plus the NUL need 9. */
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, &len), SHMIFACE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 8);
    len = 0;
    CHECK_STATUS(shmiface_get_string(seg, NULL, 0, &len), SHMIFACE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 8);
    len = 0;
    CHECK_STATUS(shmiface_get_bytes(seg, bytes, sizeof bytes, &len, &version),
                 SHMIFACE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 8 && version == 0); /* version_out is untouched on failure */
    CHECK_STATUS(shmiface_set_string(seg, ""), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_bytes(seg, NULL, 0, &len, &version), SHMIFACE_OK);
    CHECK(len == 0 && version == 2);
    CHECK_STATUS(shmiface_get_string(seg, NULL, 0, &len), SHMIFACE_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_bytes_with_nul_and_versions(void) {
    const char *name = unique_name("bytes");
    shmiface_segment *seg = NULL;
    const uint8_t data[5] = {'a', 0, 'b', 0, 'c'};
    uint8_t out[8];
    char str[8];
    size_t len = 0;
    uint64_t version = 0;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_bytes(seg, data, sizeof data, 0, &version), SHMIFACE_OK);
    CHECK(version == 1);
    CHECK_STATUS(shmiface_get_bytes(seg, out, sizeof out, &len, &version), SHMIFACE_OK);
    CHECK(len == 5 && version == 1 && memcmp(out, data, 5) == 0);
    CHECK_STATUS(shmiface_get_string(seg, str, sizeof str, &len), SHMIFACE_OK);
    CHECK(len == 5 && str[5] == '\0');
    CHECK_STATUS(shmiface_set_bytes(seg, data, 1, SHMIFACE_SET_NOTIFY, &version), SHMIFACE_OK);
    CHECK(version == 2);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_compare_and_set(void) {
    const char *name = unique_name("cas");
    shmiface_segment *seg = NULL;
    uint64_t version = 0, seen = 0;
    char buf[16];
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_compare_and_set(seg, 0, (const uint8_t *)"a", 1, 0, &version), SHMIFACE_OK);
    CHECK(version == 1);
    version = 77;
    CHECK_STATUS(shmiface_compare_and_set(seg, 0, (const uint8_t *)"b", 1, 0, &version),
                 SHMIFACE_ERR_CONFLICT);
    CHECK(version == 77);
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "a") == 0);
    CHECK_STATUS(shmiface_compare_and_set(seg, 1, (const uint8_t *)"ab", 2, SHMIFACE_SET_NOTIFY, &version),
                 SHMIFACE_OK);
    CHECK(version == 2);
    CHECK_STATUS(shmiface_wait(seg, &seen, 0), SHMIFACE_OK); /* the notify flag notified */
    CHECK(seen == 1);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_wait_cursor_and_timeout(void) {
    const char *name = unique_name("wait");
    shmiface_segment *seg = NULL, *late = NULL;
    uint64_t seen = 0;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(seg, &seen, 0), SHMIFACE_ERR_TIMEOUT);
    CHECK_STATUS(shmiface_wait(seg, &seen, 20), SHMIFACE_ERR_TIMEOUT);
    CHECK_STATUS(shmiface_wait(seg, NULL, 0), SHMIFACE_ERR_TIMEOUT);
    CHECK_STATUS(shmiface_notify(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_notify(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(seg, &seen, -1), SHMIFACE_OK);
    CHECK(seen == 2);
    /* The handle's own cursor started at 0 and catches up in one wait. */
    CHECK_STATUS(shmiface_wait(seg, NULL, 0), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(seg, NULL, 0), SHMIFACE_ERR_TIMEOUT);
    /* A handle made later starts at the count when it was made. */
    CHECK_STATUS(shmiface_get_instance(name, &late), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(late, NULL, 0), SHMIFACE_ERR_TIMEOUT);
    CHECK_STATUS(shmiface_set_string_notify(seg, "go"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_wait(late, NULL, 1000), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(late), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_destroyed_handles_are_inert(void) {
    const char *name = unique_name("inert");
    shmiface_segment *owner = NULL, *other = NULL;
    char buf[16];
    uint64_t seen = 0;
    shmiface_info info;
    CHECK_STATUS(shmiface_init_instance(name, NULL, &owner), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(owner), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(other, buf, sizeof buf, NULL), SHMIFACE_ERR_DESTROYED);
    CHECK_STATUS(shmiface_set_string(other, "x"), SHMIFACE_ERR_DESTROYED);
    CHECK_STATUS(shmiface_notify(other), SHMIFACE_ERR_DESTROYED);
    CHECK_STATUS(shmiface_wait(other, &seen, -1), SHMIFACE_ERR_DESTROYED);
    CHECK_STATUS(shmiface_get_info(other, &info), SHMIFACE_OK);
    CHECK(info.destroyed && !info.is_owner);
    CHECK_STATUS(shmiface_destroy(other), SHMIFACE_OK);
    return 0;
}

static int test_persistent_segments_survive_their_owner(void) {
    const char *name = unique_name("persist");
    shmiface_segment *seg = NULL;
    shmiface_options o = {64, 0, SHMIFACE_PERSISTENT};
    char buf[16];
    shmiface_info info;
    CHECK_STATUS(shmiface_init_instance(name, &o, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, "kept"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_info(seg, &info), SHMIFACE_OK);
    CHECK(!info.owner_alive && !info.destroyed);
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "kept") == 0);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    /* A new owner takes it over with its value. */
    o.flags = 0;
    CHECK_STATUS(shmiface_init_instance(name, &o, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "kept") == 0);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_unlink(name), SHMIFACE_ERR_NOT_FOUND);
    return 0;
}

static int test_one_mapping_per_name(void) {
    const char *name = unique_name("share");
    shmiface_segment *a = NULL, *b = NULL;
    char buf[16];
    CHECK_STATUS(shmiface_init_instance(name, NULL, &a), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &b), SHMIFACE_OK);
    CHECK(a != b);
    CHECK_STATUS(shmiface_set_string(b, "via b"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(b), SHMIFACE_OK);
    /* Releasing one handle keeps the mapping (and ownership) of the other. */
    CHECK_STATUS(shmiface_get_string(a, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "via b") == 0);
    CHECK_STATUS(shmiface_init_instance(name, NULL, &b), SHMIFACE_ERR_EXISTS);
    CHECK_STATUS(shmiface_destroy(a), SHMIFACE_OK);
    return 0;
}

/* Writes a foreign object at /dev/shm/<name> with `len` bytes of `fill`. */
static int foreign_object(const char *name, size_t len, int fill) {
    char path[300];
    int fd;
    snprintf(path, sizeof path, "/%s", name);
    fd = shm_open(path, O_CREAT | O_RDWR | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)len) != 0) return -1;
    if (len > 0) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return -1;
        memset(p, fill, len);
        munmap(p, len);
    }
    close(fd);
    return 0;
}

static int test_incompatible_and_not_ready_objects(void) {
    const char *junk = unique_name("junk");
    const char *zeros = unique_name("zeros");
    shmiface_segment *seg = NULL;
    CHECK(foreign_object(junk, 4096, 0x5a) == 0);
    CHECK_STATUS(shmiface_get_instance(junk, &seg), SHMIFACE_ERR_INCOMPATIBLE);
    /* init_instance never clobbers what is not ours. */
    CHECK_STATUS(shmiface_init_instance(junk, NULL, &seg), SHMIFACE_ERR_INCOMPATIBLE);
    CHECK_STATUS(shmiface_unlink(junk), SHMIFACE_OK);
    /* All zero looks like a creation still under way: a bounded wait, then NOT_READY. */
    CHECK(foreign_object(zeros, 4096, 0) == 0);
    CHECK_STATUS(shmiface_get_instance(zeros, &seg), SHMIFACE_ERR_NOT_READY);
    /* With no creator holding it, init_instance takes the name over. */
    CHECK_STATUS(shmiface_init_instance(zeros, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, "fresh"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    CHECK(seg != NULL);
    return 0;
}

static int test_unlink(void) {
    const char *name = unique_name("unlink");
    shmiface_segment *seg = NULL, *other = NULL;
    char buf[16];
    CHECK_STATUS(shmiface_unlink(name), SHMIFACE_ERR_NOT_FOUND);
    CHECK_STATUS(shmiface_init_instance(name, NULL, &seg), SHMIFACE_OK);
    CHECK_STATUS(shmiface_set_string(seg, "mapped"), SHMIFACE_OK);
    CHECK_STATUS(shmiface_unlink(name), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_instance(name, &other), SHMIFACE_ERR_NOT_FOUND);
    /* The mapping stays valid. */
    CHECK_STATUS(shmiface_get_string(seg, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(strcmp(buf, "mapped") == 0);
    /* And the name can be made again while the old mapping lives. */
    CHECK_STATUS(shmiface_init_instance(name, NULL, &other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_get_string(other, buf, sizeof buf, NULL), SHMIFACE_OK);
    CHECK(buf[0] == '\0');
    CHECK_STATUS(shmiface_destroy(other), SHMIFACE_OK);
    CHECK_STATUS(shmiface_destroy(seg), SHMIFACE_OK);
    return 0;
}

static int test_status_strings_and_last_error(void) {
    char small[8];
    size_t full;
    shmiface_segment *seg = NULL;
    for (int s = -3; s <= 20; s++) {
        const char *text = shmiface_status_str(s);
        CHECK(text != NULL && text[0] != '\0');
    }
    CHECK(strcmp(shmiface_status_str(SHMIFACE_OK), "success") == 0);
    CHECK(strcmp(shmiface_status_str(12345), "unknown status code") == 0);
    CHECK_STATUS(shmiface_get_instance("no-such-segment-anywhere", &seg), SHMIFACE_ERR_NOT_FOUND);
    full = shmiface_last_error(NULL, 0);
    CHECK(full > sizeof small);
    CHECK(shmiface_last_error(small, sizeof small) == full);
    CHECK(strlen(small) == sizeof small - 1);
    CHECK(strstr(shmiface_status_str(SHMIFACE_ERR_PANIC), "internal") != NULL);
    return 0;
}

static int test_versions_and_spin_setting(void) {
    uint64_t before = shmiface_spin_ns();
    CHECK(shmiface_abi_version() == SHMIFACE_ABI_VERSION);
    CHECK(shmiface_version() != NULL && strchr(shmiface_version(), '.') != NULL);
    CHECK_STATUS(shmiface_set_spin_ns(1234), SHMIFACE_OK);
    CHECK(shmiface_spin_ns() == 1234);
    CHECK_STATUS(shmiface_set_spin_ns(before), SHMIFACE_OK);
    return 0;
}

int main(void) {
    RUN_TEST(test_card_round_trip);
    RUN_TEST(test_defaults_and_info);
    RUN_TEST(test_mode_is_exact_whatever_the_umask);
    RUN_TEST(test_null_arguments);
    RUN_TEST(test_invalid_names);
    RUN_TEST(test_invalid_arguments);
    RUN_TEST(test_exists_while_the_owner_lives);
    RUN_TEST(test_too_large_keeps_the_old_value);
    RUN_TEST(test_buffer_too_small_reports_the_length);
    RUN_TEST(test_bytes_with_nul_and_versions);
    RUN_TEST(test_compare_and_set);
    RUN_TEST(test_wait_cursor_and_timeout);
    RUN_TEST(test_destroyed_handles_are_inert);
    RUN_TEST(test_persistent_segments_survive_their_owner);
    RUN_TEST(test_one_mapping_per_name);
    RUN_TEST(test_incompatible_and_not_ready_objects);
    RUN_TEST(test_unlink);
    RUN_TEST(test_status_strings_and_last_error);
    RUN_TEST(test_versions_and_spin_setting);
    return TEST_SUMMARY();
}
