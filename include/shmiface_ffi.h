/* shmiface C ABI: the declarations of shmiface.h with no preprocessor line,
 * for FFIs that parse C declarations (cffi, LuaJIT, koffi). Generated from
 * shmiface.h by build.rs: do not edit. Constants are enums. */

enum { SHMIFACE_ABI_VERSION = 1 };

enum { SHMIFACE_ABI_MINOR = 1 };

enum { SHMIFACE_PERSISTENT = 1 };

enum { SHMIFACE_SET_NOTIFY = 1 };

enum { SHMIFACE_MAX_CAPACITY = 1073741824 };

enum { SHMIFACE_MAX_NAME_LEN = 200 };

/* SHMIFACE_LATEST = 18446744073709551615 (UINT64_MAX): wider than a C enum, so declare it in your FFI */

enum { SHMIFACE_MAX_HISTORY = 65536 };

typedef struct shmiface_segment shmiface_segment;

typedef int32_t shmiface_status;

typedef struct shmiface_options {
    uint64_t capacity;
    uint32_t mode;
    uint32_t flags;
} shmiface_options;

typedef struct shmiface_info {
    uint64_t capacity;
    uint64_t length;
    uint64_t version;
    uint64_t notify_count;
    uint32_t waiters;
    uint32_t mode;
    int32_t owner_pid;
    bool owner_alive;
    bool is_owner;
    bool destroyed;
} shmiface_info;

typedef struct shmiface_probe {
    const uint64_t *version;
    const uint64_t *state;
    uint64_t destroyed_bit;
} shmiface_probe;

typedef struct shmiface_create_options {
    uint64_t capacity;
    uint32_t mode;
    uint32_t flags;
    uint32_t history;
    uint32_t reserved;
} shmiface_create_options;

typedef struct shmiface_info_ex {
    shmiface_info info;
    uint32_t history;
    uint32_t reserved;
    uint64_t oldest_version;
} shmiface_info_ex;

enum { SHMIFACE_OK = 0 };

enum { SHMIFACE_ERR_NULL_ARGUMENT = 1 };

enum { SHMIFACE_ERR_INVALID_NAME = 2 };

enum { SHMIFACE_ERR_INVALID_ARGUMENT = 3 };

enum { SHMIFACE_ERR_NOT_FOUND = 4 };

enum { SHMIFACE_ERR_EXISTS = 5 };

enum { SHMIFACE_ERR_TOO_LARGE = 6 };

enum { SHMIFACE_ERR_BUFFER_TOO_SMALL = 7 };

enum { SHMIFACE_ERR_TIMEOUT = 8 };

enum { SHMIFACE_ERR_INCOMPATIBLE = 9 };

enum { SHMIFACE_ERR_PERMISSION = 10 };

enum { SHMIFACE_ERR_DESTROYED = 11 };

enum { SHMIFACE_ERR_CONFLICT = 12 };

enum { SHMIFACE_ERR_NOT_READY = 13 };

enum { SHMIFACE_ERR_NO_SPACE = 14 };

enum { SHMIFACE_ERR_OS = 15 };

enum { SHMIFACE_ERR_PANIC = 16 };

enum { SHMIFACE_ERR_OVERWRITTEN = 17 };

enum { SHMIFACE_ERR_BAD_HANDLE = 18 };

enum { SHMIFACE_ERR_BUSY = 19 };

shmiface_status shmiface_init_instance(const char *name,
                                       const shmiface_options *options,
                                       shmiface_segment **out);

shmiface_status shmiface_get_instance(const char *name,
                                      shmiface_segment **out);

shmiface_status shmiface_get_string(const shmiface_segment *seg,
                                    char *buf,
                                    size_t buf_len,
                                    size_t *len_out);

shmiface_status shmiface_set_string(shmiface_segment *seg,
                                    const char *value);

shmiface_status shmiface_set_string_notify(shmiface_segment *seg,
                                           const char *value);

shmiface_status shmiface_destroy(shmiface_segment *seg);

shmiface_status shmiface_get_bytes(const shmiface_segment *seg,
                                   uint8_t *buf,
                                   size_t buf_len,
                                   size_t *len_out,
                                   uint64_t *version_out);

shmiface_status shmiface_set_bytes(shmiface_segment *seg,
                                   const uint8_t *data,
                                   size_t len,
                                   uint32_t flags,
                                   uint64_t *version_out);

shmiface_status shmiface_compare_and_set(shmiface_segment *seg,
                                         uint64_t expected_version,
                                         const uint8_t *data,
                                         size_t len,
                                         uint32_t flags,
                                         uint64_t *version_out);

shmiface_status shmiface_notify(shmiface_segment *seg);

shmiface_status shmiface_wait(shmiface_segment *seg,
                              uint64_t *seen,
                              int64_t timeout_ms);

shmiface_status shmiface_get_info(const shmiface_segment *seg,
                                  shmiface_info *out);

shmiface_status shmiface_unlink(const char *name);

const char *shmiface_status_str(shmiface_status status);

size_t shmiface_last_error(char *buf,
                           size_t buf_len);

uint32_t shmiface_abi_version(void);

const char *shmiface_version(void);

shmiface_status shmiface_set_spin_ns(uint64_t ns);

uint64_t shmiface_spin_ns(void);

shmiface_status shmiface_get_probe(const shmiface_segment *seg,
                                   shmiface_probe *out,
                                   size_t out_size);

shmiface_status shmiface_create(const char *name,
                                const shmiface_create_options *options,
                                size_t options_size,
                                shmiface_segment **out);

shmiface_status shmiface_next(const shmiface_segment *seg,
                              uint64_t *version,
                              uint8_t *buf,
                              size_t buf_len,
                              size_t *len_out,
                              int64_t timeout_ms);

shmiface_status shmiface_loan(shmiface_segment *seg,
                              uint8_t **data,
                              size_t *capacity_out);

shmiface_status shmiface_publish(shmiface_segment *seg,
                                 size_t len,
                                 uint32_t flags,
                                 uint64_t *version_out);

shmiface_status shmiface_discard(shmiface_segment *seg);

shmiface_status shmiface_borrow(const shmiface_segment *seg,
                                uint64_t *version,
                                const uint8_t **data,
                                size_t *len_out,
                                int64_t timeout_ms);

shmiface_status shmiface_release(const shmiface_segment *seg,
                                 uint64_t version);

shmiface_status shmiface_get_info_ex(const shmiface_segment *seg,
                                     shmiface_info_ex *out,
                                     size_t out_size);
