/* Bad input from callers, table-driven: every exported function with NULLs,
 * bad names, oversized values, zero and huge capacities, unknown flags and
 * negative timeouts, and pointers that are not live handles (destroyed,
 * destroyed twice, a handle plus 8, small integers). Each row checks the
 * exact status; every failing row also checks that shmiface_last_error
 * names the function that failed and says why (non-empty), and that
 * out-parameters were left untouched (the ABI writes them only on OK,
 * except len_out on BUFFER_TOO_SMALL).
 *
 * The fixture: OWNER owns segment NAME (capacity 16, value "abc"); ATT is
 * a second handle; GONE is a handle to a segment its owner destroyed; DEAD
 * is a handle to NAME that was itself destroyed, and FORGED is ATT plus 8:
 * neither is a live handle (BAD_HANDLE, ABI 1.1). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>

#include "harness.h"

static shmiface_segment *OWNER, *ATT, *GONE, *DEAD, *FORGED;
static const char *NAME;
static int violations;
#define SENTINEL ((shmiface_segment *)(uintptr_t)0x5e47)
#define SENTINEL_LEN ((size_t)0xabcdef)
#define SENTINEL_U64 UINT64_C(0x1234567812345678)

#define UNTOUCHED(cond)                                                            \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "  %s:%d: out-parameter written on failure: %s\n", __FILE__, \
                    __LINE__, #cond);                                              \
            violations++;                                                          \
        }                                                                          \
    } while (0)

static char long_name[SHMIFACE_MAX_NAME_LEN + 2];
static char max_name[SHMIFACE_MAX_NAME_LEN + 1];

/* ---- init_instance ---- */

static shmiface_status init_with(const char *name, const shmiface_options *o) {
    shmiface_segment *out = SENTINEL;
    shmiface_status st = shmiface_init_instance(name, o, &out);
    if (st != SHMIFACE_OK) {
        UNTOUCHED(out == SENTINEL);
    } else {
        shmiface_info info;
        if (shmiface_get_info(out, &info) != SHMIFACE_OK) violations++;
        if (o && o->capacity == 0 && info.capacity != 128) violations++;
        if (o && o->mode == 0 && info.mode != 0600) violations++;
        if (o && o->mode != 0 && info.mode != o->mode) violations++;
        shmiface_destroy(out);
    }
    return st;
}
static shmiface_status init_opts(uint64_t cap, uint32_t mode, uint32_t flags) {
    shmiface_options o = {cap, mode, flags};
    return init_with(unique_name("opts"), &o);
}
static shmiface_status init_null_name(void) { return init_with(NULL, NULL); }
static shmiface_status init_null_out(void) { return shmiface_init_instance(unique_name("x"), NULL, NULL); }
static shmiface_status init_all_null(void) { return shmiface_init_instance(NULL, NULL, NULL); }
static shmiface_status init_empty_name(void) { return init_with("", NULL); }
static shmiface_status init_dot_name(void) { return init_with(".hidden", NULL); }
static shmiface_status init_dotdot_name(void) { return init_with("..", NULL); }
static shmiface_status init_slash_name(void) { return init_with("a/b", NULL); }
static shmiface_status init_abs_name(void) { return init_with("/abs", NULL); }
static shmiface_status init_escape_name(void) { return init_with("../../etc/passwd", NULL); }
static shmiface_status init_space_name(void) { return init_with("sp ace", NULL); }
static shmiface_status init_newline_name(void) { return init_with("a\nb", NULL); }
static shmiface_status init_utf8_name(void) { return init_with("caf\xc3\xa9", NULL); }
static shmiface_status init_bad_utf8_name(void) { return init_with("\xff\xfe", NULL); }
static shmiface_status init_long_name(void) { return init_with(long_name, NULL); }
static shmiface_status init_max_name(void) { shmiface_unlink(max_name); return init_with(max_name, NULL); }
static shmiface_status init_cap_zero(void) { return init_opts(0, 0, 0); }
static shmiface_status init_cap_one(void) { return init_opts(1, 0, 0); }
static shmiface_status init_cap_over(void) { return init_opts(SHMIFACE_MAX_CAPACITY + 1, 0, 0); }
static shmiface_status init_cap_huge(void) { return init_opts(UINT64_MAX, 0, 0); }
static shmiface_status init_mode_zero(void) { return init_opts(0, 0, 0); }
static shmiface_status init_mode_0644(void) { return init_opts(0, 0644, 0); }
static shmiface_status init_mode_sticky(void) { return init_opts(0, 01600, 0); }
static shmiface_status init_mode_setuid(void) { return init_opts(0, 04755, 0); }
static shmiface_status init_mode_all(void) { return init_opts(0, UINT32_MAX, 0); }
static shmiface_status init_flags_2(void) { return init_opts(0, 0, 2); }
static shmiface_status init_flags_high(void) { return init_opts(0, 0, 0x80000000u); }
static shmiface_status init_flags_all(void) { return init_opts(0, 0, UINT32_MAX); }
static shmiface_status init_flags_persistent(void) {
    const char *n = unique_name("persist");
    shmiface_options o = {0, 0, SHMIFACE_PERSISTENT};
    shmiface_status st = init_with(n, &o);
    if (!test_exists(n)) violations++; /* persistent: still there */
    shmiface_unlink(n);
    return st;
}
static shmiface_status init_live_owner(void) { return init_with(NAME, NULL); }

/* ---- get_instance ---- */

static shmiface_status get_with(const char *name) {
    shmiface_segment *out = SENTINEL;
    shmiface_status st = shmiface_get_instance(name, &out);
    if (st != SHMIFACE_OK) UNTOUCHED(out == SENTINEL);
    else shmiface_destroy(out);
    return st;
}
static shmiface_status get_null_name(void) { return get_with(NULL); }
static shmiface_status get_null_out(void) { return shmiface_get_instance(NAME, NULL); }
static shmiface_status get_empty_name(void) { return get_with(""); }
static shmiface_status get_slash_name(void) { return get_with("x/y"); }
static shmiface_status get_dotdot_name(void) { return get_with(".."); }
static shmiface_status get_long_name(void) { return get_with(long_name); }
static shmiface_status get_missing(void) { return get_with(unique_name("missing")); }
static shmiface_status get_ok(void) { return get_with(NAME); }

/* ---- get_string ---- */

static shmiface_status gs(const shmiface_segment *seg, char *buf, size_t n, size_t expect_len_out) {
    size_t len = SENTINEL_LEN;
    shmiface_status st = shmiface_get_string(seg, buf, n, &len);
    if (st == SHMIFACE_ERR_BUFFER_TOO_SMALL || st == SHMIFACE_OK) {
        if (len != expect_len_out) violations++;
    } else {
        UNTOUCHED(len == SENTINEL_LEN);
    }
    return st;
}
static shmiface_status gstr_null_seg(void) { char b[8]; return gs(NULL, b, sizeof b, 0); }
static shmiface_status gstr_null_buf(void) { return gs(ATT, NULL, 8, 0); }
static shmiface_status gstr_null_buf_zero(void) { return gs(ATT, NULL, 0, 3); }
static shmiface_status gstr_no_room_for_nul(void) { char b[3]; return gs(ATT, b, sizeof b, 3); }
static shmiface_status gstr_exact(void) {
    char b[4];
    shmiface_status st = gs(ATT, b, sizeof b, 3);
    if (st == SHMIFACE_OK && strcmp(b, "abc") != 0) violations++;
    return st;
}
static shmiface_status gstr_null_len_out(void) { char b[8]; return shmiface_get_string(ATT, b, sizeof b, NULL); }
static shmiface_status gstr_destroyed(void) { char b[8]; return gs(GONE, b, sizeof b, 0); }
static shmiface_status gstr_dead(void) { char b[8]; return gs(DEAD, b, sizeof b, 0); }
static shmiface_status gstr_forged(void) { char b[8]; return gs(FORGED, b, sizeof b, 0); }
static shmiface_status gstr_small_int(void) { char b[8]; return gs((shmiface_segment *)(uintptr_t)5, b, sizeof b, 0); }

/* ---- set_string / set_string_notify ---- */

static int value_is_abc(void) {
    char b[32];
    return shmiface_get_string(ATT, b, sizeof b, NULL) == SHMIFACE_OK && strcmp(b, "abc") == 0;
}
static shmiface_status sstr_null_seg(void) { return shmiface_set_string(NULL, "x"); }
static shmiface_status sstr_null_value(void) { return shmiface_set_string(ATT, NULL); }
static shmiface_status sstr_too_long(void) {
    shmiface_status st = shmiface_set_string(ATT, "0123456789abcdefX"); /* 17 > 16 */
    if (!value_is_abc()) violations++; /* the old value stays */
    return st;
}
static shmiface_status sstr_fits(void) {
    shmiface_status st = shmiface_set_string(ATT, "0123456789abcdef");
    shmiface_set_string(ATT, "abc");
    return st;
}
static shmiface_status sstr_destroyed(void) { return shmiface_set_string(GONE, "x"); }
static shmiface_status sstr_dead(void) { return shmiface_set_string(DEAD, "x"); }
static shmiface_status sstr_forged(void) { return shmiface_set_string(FORGED, "x"); }
static shmiface_status ssn_null_seg(void) { return shmiface_set_string_notify(NULL, "x"); }
static shmiface_status ssn_null_value(void) { return shmiface_set_string_notify(ATT, NULL); }
static shmiface_status ssn_too_long(void) {
    shmiface_status st = shmiface_set_string_notify(ATT, "0123456789abcdefX");
    if (!value_is_abc()) violations++;
    return st;
}
static shmiface_status ssn_destroyed(void) { return shmiface_set_string_notify(GONE, "x"); }
static shmiface_status ssn_dead(void) { return shmiface_set_string_notify(DEAD, "x"); }
static shmiface_status ssn_forged(void) { return shmiface_set_string_notify(FORGED, "x"); }

/* ---- destroy ---- */

static shmiface_status destroy_null(void) { return shmiface_destroy(NULL); }
static shmiface_status destroy_twice(void) { return shmiface_destroy(DEAD); }
static shmiface_status destroy_forged(void) {
    shmiface_status st = shmiface_destroy(FORGED);
    if (!value_is_abc()) violations++; /* ATT, next to it, still works */
    return st;
}
static shmiface_status destroy_all_bits(void) { return shmiface_destroy((shmiface_segment *)(uintptr_t)-1); }

/* ---- get_bytes ---- */

static shmiface_status gb(const shmiface_segment *seg, uint8_t *buf, size_t n, size_t expect_len) {
    size_t len = SENTINEL_LEN;
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_get_bytes(seg, buf, n, &len, &version);
    if (st == SHMIFACE_OK) {
        if (len != expect_len || version == SENTINEL_U64) violations++;
    } else if (st == SHMIFACE_ERR_BUFFER_TOO_SMALL) {
        if (len != expect_len) violations++;
        UNTOUCHED(version == SENTINEL_U64);
    } else {
        UNTOUCHED(len == SENTINEL_LEN && version == SENTINEL_U64);
    }
    return st;
}
static shmiface_status gbytes_null_seg(void) { uint8_t b[8]; return gb(NULL, b, sizeof b, 0); }
static shmiface_status gbytes_null_buf(void) { return gb(ATT, NULL, 8, 0); }
static shmiface_status gbytes_null_buf_zero(void) { return gb(ATT, NULL, 0, 3); }
static shmiface_status gbytes_small(void) { uint8_t b[2]; return gb(ATT, b, sizeof b, 3); }
static shmiface_status gbytes_exact(void) { uint8_t b[3]; return gb(ATT, b, sizeof b, 3); }
static shmiface_status gbytes_null_outs(void) { uint8_t b[3]; return shmiface_get_bytes(ATT, b, 3, NULL, NULL); }
static shmiface_status gbytes_destroyed(void) { uint8_t b[8]; return gb(GONE, b, sizeof b, 0); }
static shmiface_status gbytes_dead(void) { uint8_t b[8]; return gb(DEAD, b, sizeof b, 0); }
static shmiface_status gbytes_forged(void) { uint8_t b[8]; return gb(FORGED, b, sizeof b, 0); }

/* ---- set_bytes ---- */

static shmiface_status sb(shmiface_segment *seg, const uint8_t *d, size_t n, uint32_t flags) {
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_set_bytes(seg, d, n, flags, &version);
    if (st != SHMIFACE_OK) UNTOUCHED(version == SENTINEL_U64);
    if (st == SHMIFACE_OK) shmiface_set_string(ATT, "abc");
    else if (seg == ATT && !value_is_abc()) violations++;
    return st;
}
static const uint8_t BYTES[32] = "0123456789abcdefXYZ";
static shmiface_status sbytes_null_seg(void) { return sb(NULL, BYTES, 3, 0); }
static shmiface_status sbytes_null_data(void) { return sb(ATT, NULL, 3, 0); }
static shmiface_status sbytes_null_data_empty(void) { return sb(ATT, NULL, 0, 0); }
static shmiface_status sbytes_too_large(void) { return sb(ATT, BYTES, 17, 0); }
static shmiface_status sbytes_size_max(void) { return sb(ATT, BYTES, SIZE_MAX, 0); }
static shmiface_status sbytes_flags_2(void) { return sb(ATT, BYTES, 3, 2); }
static shmiface_status sbytes_flags_all(void) { return sb(ATT, BYTES, 3, UINT32_MAX); }
static shmiface_status sbytes_notify(void) { return sb(ATT, BYTES, 16, SHMIFACE_SET_NOTIFY); }
static shmiface_status sbytes_nul_inside(void) { return sb(ATT, (const uint8_t *)"a\0b", 3, 0); }
static shmiface_status sbytes_destroyed(void) { return sb(GONE, BYTES, 3, 0); }
static shmiface_status sbytes_dead(void) { return sb(DEAD, BYTES, 3, 0); }
static shmiface_status sbytes_forged(void) { return sb(FORGED, BYTES, 3, 0); }

/* ---- compare_and_set ---- */

static uint64_t current_version(void) {
    uint64_t v = 0;
    uint8_t b[32];
    shmiface_get_bytes(ATT, b, sizeof b, NULL, &v);
    return v;
}
static shmiface_status cas(shmiface_segment *seg, int64_t delta, const uint8_t *d, size_t n, uint32_t flags) {
    uint64_t version = SENTINEL_U64;
    shmiface_status st = shmiface_compare_and_set(seg, current_version() + (uint64_t)delta, d, n, flags, &version);
    if (st != SHMIFACE_OK) UNTOUCHED(version == SENTINEL_U64);
    if (st == SHMIFACE_OK) shmiface_set_string(ATT, "abc");
    else if (seg == ATT && !value_is_abc()) violations++;
    return st;
}
static shmiface_status cas_null_seg(void) { return cas(NULL, 0, BYTES, 3, 0); }
static shmiface_status cas_null_data(void) { return cas(ATT, 0, NULL, 3, 0); }
static shmiface_status cas_stale(void) { return cas(ATT, -1, BYTES, 3, 0); }
static shmiface_status cas_future(void) { return cas(ATT, 1, BYTES, 3, 0); }
static shmiface_status cas_too_large(void) { return cas(ATT, 0, BYTES, 17, 0); }
static shmiface_status cas_flags(void) { return cas(ATT, 0, BYTES, 3, 4); }
static shmiface_status cas_ok(void) { return cas(ATT, 0, BYTES, 3, SHMIFACE_SET_NOTIFY); }
static shmiface_status cas_destroyed(void) { return cas(GONE, 0, BYTES, 3, 0); }
static shmiface_status cas_dead(void) { return cas(DEAD, 0, BYTES, 3, 0); }
static shmiface_status cas_forged(void) { return cas(FORGED, 0, BYTES, 3, 0); }

/* ---- notify / wait ---- */

static shmiface_status notify_null(void) { return shmiface_notify(NULL); }
static shmiface_status notify_destroyed(void) { return shmiface_notify(GONE); }
static shmiface_status notify_dead(void) { return shmiface_notify(DEAD); }
static shmiface_status notify_forged(void) { return shmiface_notify(FORGED); }
static shmiface_status wt(shmiface_segment *seg, int64_t timeout) {
    shmiface_info info;
    uint64_t seen = 0;
    if (seg && shmiface_get_info(seg, &info) == SHMIFACE_OK) seen = info.notify_count;
    uint64_t before = seen;
    shmiface_status st = shmiface_wait(seg, &seen, timeout);
    if (st != SHMIFACE_OK) UNTOUCHED(seen == before);
    return st;
}
static shmiface_status wait_null_seg(void) { return wt(NULL, 0); }
static shmiface_status wait_minus_2(void) { return wt(ATT, -2); }
static shmiface_status wait_int64_min(void) { return wt(ATT, INT64_MIN); }
static shmiface_status wait_poll(void) { return wt(ATT, 0); }
static shmiface_status wait_short(void) { return wt(ATT, 5); }
static shmiface_status wait_null_seen_poll(void) {
    shmiface_wait(ATT, NULL, 0); /* catches the handle's cursor up with earlier rows */
    return shmiface_wait(ATT, NULL, 0);
}
static shmiface_status wait_behind(void) {
    uint64_t seen = 0; /* the fixture notified, so the count is ahead */
    return shmiface_wait(ATT, &seen, -1);
}
static shmiface_status wait_destroyed(void) { return wt(GONE, -1); }
static shmiface_status wait_dead(void) { return wt(DEAD, -1); }
static shmiface_status wait_forged(void) { return wt(FORGED, -1); }

/* ---- get_info / unlink ---- */

static shmiface_status info_null_seg(void) { shmiface_info i; return shmiface_get_info(NULL, &i); }
static shmiface_status info_null_out(void) { return shmiface_get_info(ATT, NULL); }
static shmiface_status info_destroyed(void) {
    shmiface_info i;
    shmiface_status st = shmiface_get_info(GONE, &i);
    if (st == SHMIFACE_OK && !i.destroyed) violations++;
    return st;
}
static shmiface_status info_dead(void) { shmiface_info i; return shmiface_get_info(DEAD, &i); }
static shmiface_status info_forged(void) { shmiface_info i; return shmiface_get_info(FORGED, &i); }
static shmiface_status unlink_null(void) { return shmiface_unlink(NULL); }
static shmiface_status unlink_empty(void) { return shmiface_unlink(""); }
static shmiface_status unlink_slash(void) { return shmiface_unlink("../etc/passwd"); }
static shmiface_status unlink_long(void) { return shmiface_unlink(long_name); }
static shmiface_status unlink_missing(void) { return shmiface_unlink(unique_name("gone")); }

struct row {
    const char *what;
    const char *function; /* the name the last-error detail must start with */
    shmiface_status expect;
    shmiface_status (*call)(void);
};

#define ROW(fn, expect, call) {#call, fn, expect, call}
static const struct row ROWS[] = {
    ROW("shmiface_init_instance", SHMIFACE_ERR_NULL_ARGUMENT, init_null_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_NULL_ARGUMENT, init_null_out),
    ROW("shmiface_init_instance", SHMIFACE_ERR_NULL_ARGUMENT, init_all_null),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_empty_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_dot_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_dotdot_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_slash_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_abs_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_escape_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_space_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_newline_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_utf8_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_bad_utf8_name),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_NAME, init_long_name),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_max_name),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_cap_zero),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_cap_one),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_cap_over),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_cap_huge),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_mode_zero),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_mode_0644),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_mode_sticky),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_mode_setuid),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_mode_all),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_flags_2),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_flags_high),
    ROW("shmiface_init_instance", SHMIFACE_ERR_INVALID_ARGUMENT, init_flags_all),
    ROW("shmiface_init_instance", SHMIFACE_OK, init_flags_persistent),
    ROW("shmiface_init_instance", SHMIFACE_ERR_EXISTS, init_live_owner),
    ROW("shmiface_get_instance", SHMIFACE_ERR_NULL_ARGUMENT, get_null_name),
    ROW("shmiface_get_instance", SHMIFACE_ERR_NULL_ARGUMENT, get_null_out),
    ROW("shmiface_get_instance", SHMIFACE_ERR_INVALID_NAME, get_empty_name),
    ROW("shmiface_get_instance", SHMIFACE_ERR_INVALID_NAME, get_slash_name),
    ROW("shmiface_get_instance", SHMIFACE_ERR_INVALID_NAME, get_dotdot_name),
    ROW("shmiface_get_instance", SHMIFACE_ERR_INVALID_NAME, get_long_name),
    ROW("shmiface_get_instance", SHMIFACE_ERR_NOT_FOUND, get_missing),
    ROW("shmiface_get_instance", SHMIFACE_OK, get_ok),
    ROW("shmiface_get_string", SHMIFACE_ERR_NULL_ARGUMENT, gstr_null_seg),
    ROW("shmiface_get_string", SHMIFACE_ERR_NULL_ARGUMENT, gstr_null_buf),
    ROW("shmiface_get_string", SHMIFACE_ERR_BUFFER_TOO_SMALL, gstr_null_buf_zero),
    ROW("shmiface_get_string", SHMIFACE_ERR_BUFFER_TOO_SMALL, gstr_no_room_for_nul),
    ROW("shmiface_get_string", SHMIFACE_OK, gstr_exact),
    ROW("shmiface_get_string", SHMIFACE_OK, gstr_null_len_out),
    ROW("shmiface_get_string", SHMIFACE_ERR_DESTROYED, gstr_destroyed),
    ROW("shmiface_get_string", SHMIFACE_ERR_BAD_HANDLE, gstr_dead),
    ROW("shmiface_get_string", SHMIFACE_ERR_BAD_HANDLE, gstr_forged),
    ROW("shmiface_get_string", SHMIFACE_ERR_BAD_HANDLE, gstr_small_int),
    ROW("shmiface_set_string", SHMIFACE_ERR_NULL_ARGUMENT, sstr_null_seg),
    ROW("shmiface_set_string", SHMIFACE_ERR_NULL_ARGUMENT, sstr_null_value),
    ROW("shmiface_set_string", SHMIFACE_ERR_TOO_LARGE, sstr_too_long),
    ROW("shmiface_set_string", SHMIFACE_OK, sstr_fits),
    ROW("shmiface_set_string", SHMIFACE_ERR_DESTROYED, sstr_destroyed),
    ROW("shmiface_set_string", SHMIFACE_ERR_BAD_HANDLE, sstr_dead),
    ROW("shmiface_set_string", SHMIFACE_ERR_BAD_HANDLE, sstr_forged),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_NULL_ARGUMENT, ssn_null_seg),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_NULL_ARGUMENT, ssn_null_value),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_TOO_LARGE, ssn_too_long),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_DESTROYED, ssn_destroyed),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_BAD_HANDLE, ssn_dead),
    ROW("shmiface_set_string_notify", SHMIFACE_ERR_BAD_HANDLE, ssn_forged),
    ROW("shmiface_destroy", SHMIFACE_OK, destroy_null),
    ROW("shmiface_destroy", SHMIFACE_ERR_BAD_HANDLE, destroy_twice),
    ROW("shmiface_destroy", SHMIFACE_ERR_BAD_HANDLE, destroy_forged),
    ROW("shmiface_destroy", SHMIFACE_ERR_BAD_HANDLE, destroy_all_bits),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_NULL_ARGUMENT, gbytes_null_seg),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_NULL_ARGUMENT, gbytes_null_buf),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_BUFFER_TOO_SMALL, gbytes_null_buf_zero),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_BUFFER_TOO_SMALL, gbytes_small),
    ROW("shmiface_get_bytes", SHMIFACE_OK, gbytes_exact),
    ROW("shmiface_get_bytes", SHMIFACE_OK, gbytes_null_outs),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_DESTROYED, gbytes_destroyed),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_BAD_HANDLE, gbytes_dead),
    ROW("shmiface_get_bytes", SHMIFACE_ERR_BAD_HANDLE, gbytes_forged),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_NULL_ARGUMENT, sbytes_null_seg),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_NULL_ARGUMENT, sbytes_null_data),
    ROW("shmiface_set_bytes", SHMIFACE_OK, sbytes_null_data_empty),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_TOO_LARGE, sbytes_too_large),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_TOO_LARGE, sbytes_size_max),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_INVALID_ARGUMENT, sbytes_flags_2),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_INVALID_ARGUMENT, sbytes_flags_all),
    ROW("shmiface_set_bytes", SHMIFACE_OK, sbytes_notify),
    ROW("shmiface_set_bytes", SHMIFACE_OK, sbytes_nul_inside),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_DESTROYED, sbytes_destroyed),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_BAD_HANDLE, sbytes_dead),
    ROW("shmiface_set_bytes", SHMIFACE_ERR_BAD_HANDLE, sbytes_forged),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_NULL_ARGUMENT, cas_null_seg),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_NULL_ARGUMENT, cas_null_data),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_CONFLICT, cas_stale),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_CONFLICT, cas_future),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_TOO_LARGE, cas_too_large),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_INVALID_ARGUMENT, cas_flags),
    ROW("shmiface_compare_and_set", SHMIFACE_OK, cas_ok),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_DESTROYED, cas_destroyed),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_BAD_HANDLE, cas_dead),
    ROW("shmiface_compare_and_set", SHMIFACE_ERR_BAD_HANDLE, cas_forged),
    ROW("shmiface_notify", SHMIFACE_ERR_NULL_ARGUMENT, notify_null),
    ROW("shmiface_notify", SHMIFACE_ERR_DESTROYED, notify_destroyed),
    ROW("shmiface_notify", SHMIFACE_ERR_BAD_HANDLE, notify_dead),
    ROW("shmiface_notify", SHMIFACE_ERR_BAD_HANDLE, notify_forged),
    ROW("shmiface_wait", SHMIFACE_ERR_NULL_ARGUMENT, wait_null_seg),
    ROW("shmiface_wait", SHMIFACE_ERR_INVALID_ARGUMENT, wait_minus_2),
    ROW("shmiface_wait", SHMIFACE_ERR_INVALID_ARGUMENT, wait_int64_min),
    ROW("shmiface_wait", SHMIFACE_ERR_TIMEOUT, wait_poll),
    ROW("shmiface_wait", SHMIFACE_ERR_TIMEOUT, wait_short),
    ROW("shmiface_wait", SHMIFACE_ERR_TIMEOUT, wait_null_seen_poll),
    ROW("shmiface_wait", SHMIFACE_OK, wait_behind),
    ROW("shmiface_wait", SHMIFACE_ERR_DESTROYED, wait_destroyed),
    ROW("shmiface_wait", SHMIFACE_ERR_BAD_HANDLE, wait_dead),
    ROW("shmiface_wait", SHMIFACE_ERR_BAD_HANDLE, wait_forged),
    ROW("shmiface_get_info", SHMIFACE_ERR_NULL_ARGUMENT, info_null_seg),
    ROW("shmiface_get_info", SHMIFACE_ERR_NULL_ARGUMENT, info_null_out),
    ROW("shmiface_get_info", SHMIFACE_OK, info_destroyed),
    ROW("shmiface_get_info", SHMIFACE_ERR_BAD_HANDLE, info_dead),
    ROW("shmiface_get_info", SHMIFACE_ERR_BAD_HANDLE, info_forged),
    ROW("shmiface_unlink", SHMIFACE_ERR_NULL_ARGUMENT, unlink_null),
    ROW("shmiface_unlink", SHMIFACE_ERR_INVALID_NAME, unlink_empty),
    ROW("shmiface_unlink", SHMIFACE_ERR_INVALID_NAME, unlink_slash),
    ROW("shmiface_unlink", SHMIFACE_ERR_INVALID_NAME, unlink_long),
    ROW("shmiface_unlink", SHMIFACE_ERR_NOT_FOUND, unlink_missing),
};

/* Runs every row; the detail of a failure must be this call's. */
static int the_table(void) {
    int failed = 0;
    size_t n = sizeof ROWS / sizeof ROWS[0];
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &ROWS[i];
        int before = violations;
        shmiface_status got = r->call();
        char detail[512] = "";
        shmiface_last_error(detail, sizeof detail);
        int ok = got == r->expect && violations == before;
        if (ok && got != SHMIFACE_OK) {
            size_t fl = strlen(r->function);
            /* "shmiface_fn: why" — this call's detail, and a reason after the name. */
            ok = strncmp(detail, r->function, fl) == 0 && detail[fl] == ':' && strlen(detail) > fl + 2;
        }
        if (!ok) {
            failed++;
            fprintf(stderr, "  row %-28s got %d (%s), expected %d (%s); detail \"%s\"%s\n", r->what,
                    (int)got, shmiface_status_str(got), (int)r->expect,
                    shmiface_status_str(r->expect), detail,
                    violations != before ? "; out-parameters or value changed" : "");
        }
    }
    printf("  %zu rows, %d failed\n", n, failed);
    return failed != 0;
}

/* Not in the table: calls that take no handle and cannot fail. */
static int status_str_and_versions(void) {
    const int32_t probes[] = {INT32_MIN, -1, 0, 1, 7, 16, 17, 18, 19, 20, 100, INT32_MAX};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const char *s = shmiface_status_str(probes[i]);
        CHECK(s != NULL && s[0] != '\0');
    }
    CHECK(strcmp(shmiface_status_str(20), "unknown status code") == 0);
    CHECK(strcmp(shmiface_status_str(-1), "unknown status code") == 0);
    for (int32_t s = 0; s <= 19; s++) CHECK(strcmp(shmiface_status_str(s), "unknown status code") != 0);
    CHECK(shmiface_abi_version() == SHMIFACE_ABI_VERSION);
    CHECK(shmiface_version() != NULL && shmiface_version()[0] != '\0');
    return 0;
}

static int last_error_truncates_and_reports_the_full_length(void) {
    CHECK(shmiface_unlink("no/such") == SHMIFACE_ERR_INVALID_NAME);
    size_t full = shmiface_last_error(NULL, 0);
    CHECK(full > 10);
    char one[1] = {'x'};
    CHECK(shmiface_last_error(one, 1) == full && one[0] == '\0');
    char five[5];
    memset(five, 'x', sizeof five);
    CHECK(shmiface_last_error(five, sizeof five) == full);
    CHECK(five[4] == '\0' && strlen(five) == 4 && strncmp(five, "shmi", 4) == 0);
    char big[512];
    CHECK(shmiface_last_error(big, sizeof big) == full && strlen(big) == full);
    /* A success leaves the detail as it was. */
    CHECK(shmiface_abi_version() == 1 && shmiface_last_error(NULL, 0) == full);
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(long_name, 'n', SHMIFACE_MAX_NAME_LEN + 1);
    memset(max_name, 'm', SHMIFACE_MAX_NAME_LEN);
    NAME = unique_name("fixture");
    shmiface_options o = {16, 0600, 0};
    if (shmiface_init_instance(NAME, &o, &OWNER) != SHMIFACE_OK) return 2;
    if (shmiface_set_string_notify(OWNER, "abc") != SHMIFACE_OK) return 2;
    if (shmiface_get_instance(NAME, &ATT) != SHMIFACE_OK) return 2;
    const char *gone = unique_name("gone");
    shmiface_segment *gone_owner = NULL;
    if (shmiface_init_instance(gone, NULL, &gone_owner) != SHMIFACE_OK) return 2;
    if (shmiface_get_instance(gone, &GONE) != SHMIFACE_OK) return 2;
    if (shmiface_destroy(gone_owner) != SHMIFACE_OK) return 2;
    if (shmiface_get_instance(NAME, &DEAD) != SHMIFACE_OK) return 2;
    if (shmiface_destroy(DEAD) != SHMIFACE_OK) return 2;
    FORGED = (shmiface_segment *)((char *)ATT + 8);

    RUN_TEST(the_table);
    RUN_TEST(status_str_and_versions);
    RUN_TEST(last_error_truncates_and_reports_the_full_length);

    shmiface_destroy(GONE);
    shmiface_destroy(ATT);
    shmiface_destroy(OWNER);
    if (test_exists(NAME) || test_exists(gone) || test_exists(max_name)) {
        fprintf(stderr, "  a segment was left in /dev/shm\n");
        return 1;
    }
    return TEST_SUMMARY();
}
