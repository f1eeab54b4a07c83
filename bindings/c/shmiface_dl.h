/*
 * shmiface_dl.h — use libshmiface without linking against it.
 *
 * shmiface_dl_open() dlopen()s the library at run time, resolves every
 * function of the C ABI (docs/c-api.md) into a table of function pointers and
 * checks that the library speaks SHMIFACE_ABI_VERSION. A program built
 * this way starts and runs without libshmiface installed, and can turn a
 * shared-memory feature on only when the library is there (plugins,
 * optional features).
 *
 *     shmiface_dl dl;
 *     if (shmiface_dl_open(&dl, NULL) != 0) {       // NULL: the default search
 *         fprintf(stderr, "%s\n", dl.error);
 *         return 1;
 *     }
 *     shmiface_segment *seg;
 *     if (dl.init_instance("camera", NULL, &seg) == SHMIFACE_OK) { ... dl.destroy(seg); }
 *     shmiface_dl_close(&dl);
 *
 * shmiface.h is included for its types and constants only: nothing here
 * refers to a libshmiface symbol at link time, so link with -ldl alone
 * (glibc 2.34 and later have dlopen in libc; -ldl is then harmless).
 *
 * Copy shmiface_dl.h and shmiface_dl.c into your project; they are not
 * installed by `make install`. Thread-safety: open and close are not
 * thread-safe with respect to the same table; the functions in an open
 * table are exactly as thread-safe as the library's.
 */
#ifndef SHMIFACE_DL_H
#define SHMIFACE_DL_H

#include "shmiface.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every function of the ABI, once: X(return type, name without the
 * `shmiface_` prefix, parameter list). The table's fields, the symbol
 * lookups and (in shmiface_dl.c) a compile-time check that each line
 * agrees with the prototype in shmiface.h are all generated from these
 * lists, so adding a function to the ABI is one line here.
 *
 * SHMIFACE_DL_FUNCTIONS: ABI version 1; a library lacking one is refused.
 */
#define SHMIFACE_DL_FUNCTIONS(X)                                                          \
    X(shmiface_status, init_instance,                                                     \
      (const char *name, const shmiface_options *options, shmiface_segment **out))        \
    X(shmiface_status, get_instance, (const char *name, shmiface_segment **out))          \
    X(shmiface_status, get_string,                                                        \
      (const shmiface_segment *seg, char *buf, size_t buf_len, size_t *len_out))          \
    X(shmiface_status, set_string, (shmiface_segment *seg, const char *value))            \
    X(shmiface_status, set_string_notify, (shmiface_segment *seg, const char *value))     \
    X(shmiface_status, destroy, (shmiface_segment *seg))                                  \
    X(shmiface_status, get_bytes,                                                         \
      (const shmiface_segment *seg, uint8_t *buf, size_t buf_len, size_t *len_out,        \
       uint64_t *version_out))                                                            \
    X(shmiface_status, set_bytes,                                                         \
      (shmiface_segment *seg, const uint8_t *data, size_t len, uint32_t flags,            \
       uint64_t *version_out))                                                            \
    X(shmiface_status, compare_and_set,                                                   \
      (shmiface_segment *seg, uint64_t expected_version, const uint8_t *data, size_t len, \
       uint32_t flags, uint64_t *version_out))                                            \
    X(shmiface_status, notify, (shmiface_segment *seg))                                   \
    X(shmiface_status, wait, (shmiface_segment *seg, uint64_t *seen, int64_t timeout_ms)) \
    X(shmiface_status, get_info, (const shmiface_segment *seg, shmiface_info *out))       \
    X(shmiface_status, unlink, (const char *name))                                        \
    X(const char *, status_str, (shmiface_status status))                                 \
    X(size_t, last_error, (char *buf, size_t buf_len))                                    \
    X(uint32_t, abi_version, (void))                                                      \
    X(const char *, version, (void))

/*
 * Functions added after ABI version 1.0 (the tuning knobs, and 1.1's
 * streams: history, next, loans, borrows, and the probe): an older
 * libshmiface.so.1 may lack them, so a missing one is left NULL instead of
 * failing the open.
 * Check the pointer before calling it (`dl.next != NULL`: the library has
 * streams).
 */
#define SHMIFACE_DL_OPTIONAL_FUNCTIONS(X)                                                 \
    X(shmiface_status, set_spin_ns, (uint64_t ns))                                        \
    X(uint64_t, spin_ns, (void))                                                          \
    X(shmiface_status, create,                                                            \
      (const char *name, const shmiface_create_options *options, size_t options_size,     \
       shmiface_segment **out))                                                           \
    X(shmiface_status, next,                                                              \
      (const shmiface_segment *seg, uint64_t *version, uint8_t *buf, size_t buf_len,      \
       size_t *len_out, int64_t timeout_ms))                                              \
    X(shmiface_status, loan, (shmiface_segment *seg, uint8_t **data, size_t *capacity_out)) \
    X(shmiface_status, publish,                                                           \
      (shmiface_segment *seg, size_t len, uint32_t flags, uint64_t *version_out))         \
    X(shmiface_status, discard, (shmiface_segment *seg))                                  \
    X(shmiface_status, borrow,                                                            \
      (const shmiface_segment *seg, uint64_t *version, const uint8_t **data,              \
       size_t *len_out, int64_t timeout_ms))                                              \
    X(shmiface_status, release, (const shmiface_segment *seg, uint64_t version))          \
    X(shmiface_status, get_info_ex,                                                       \
      (const shmiface_segment *seg, shmiface_info_ex *out, size_t out_size))              \
    X(shmiface_status, get_probe,                                                         \
      (const shmiface_segment *seg, shmiface_probe *out, size_t out_size))

/* Size of shmiface_dl.error, NUL included. */
#define SHMIFACE_DL_ERROR_LEN 512

typedef struct shmiface_dl {
    void *handle; /* from dlopen; NULL when closed */
#define SHMIFACE_DL_FIELD_(ret, name, params) ret(*name) params;
    SHMIFACE_DL_FUNCTIONS(SHMIFACE_DL_FIELD_)
    SHMIFACE_DL_OPTIONAL_FUNCTIONS(SHMIFACE_DL_FIELD_)
#undef SHMIFACE_DL_FIELD_
    /* After a failed open: what went wrong, NUL-terminated ("" on success). */
    char error[SHMIFACE_DL_ERROR_LEN];
} shmiface_dl;

/*
 * shmiface_dl_open: load the library and fill `dl`.
 *
 * `path` is handed to dlopen as is (a file path, or a bare soname to be
 * found on the search path). NULL means the default search:
 * "libshmiface.so.1", then "libshmiface.so" (LD_LIBRARY_PATH, the
 * executable's rpath, the ld.so cache).
 *
 * Returns 0 on success (optional functions the library lacks are NULL).
 * On failure returns -1, leaves every field of `dl`
 * NULL (the library is closed again), and writes into dl->error which
 * file could not be loaded and why, which symbol is missing, or which ABI
 * version the library has. `dl` NULL returns -1.
 */
int shmiface_dl_open(shmiface_dl *dl, const char *path);

/* shmiface_dl_close: dlclose the library and clear the table. Every handle
 * made through the table must be destroyed first. NULL or an already
 * closed table is a no-op. */
void shmiface_dl_close(shmiface_dl *dl);

#ifdef __cplusplus
}
#endif

#endif /* SHMIFACE_DL_H */
