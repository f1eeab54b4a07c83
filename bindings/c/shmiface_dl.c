/*
 * shmiface_dl.c — the runtime loader declared in shmiface_dl.h.
 * C11; needs dlopen/dlsym/dlclose (POSIX), nothing from libshmiface.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "shmiface_dl.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Each line of SHMIFACE_DL_FUNCTIONS must agree with the prototype the
 * header declares: a pointer to the header's function must have exactly
 * the type of the table's field. The check is a _Generic selection inside
 * _Static_assert, so it costs nothing at run time and references no symbol
 * (the controlling expression of _Generic is never evaluated).
 */
#define SHMIFACE_DL_CHECK_(ret, name, params)                                          \
    _Static_assert(_Generic(&shmiface_##name, ret(*) params: 1, default: 0),           \
                   "SHMIFACE_DL_FUNCTIONS disagrees with shmiface.h on shmiface_" #name);
SHMIFACE_DL_FUNCTIONS(SHMIFACE_DL_CHECK_)
SHMIFACE_DL_OPTIONAL_FUNCTIONS(SHMIFACE_DL_CHECK_)
#undef SHMIFACE_DL_CHECK_

static void set_error(shmiface_dl *dl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dl->error, sizeof dl->error, fmt, ap);
    va_end(ap);
}

static void clear_table(shmiface_dl *dl) {
    dl->handle = NULL;
#define SHMIFACE_DL_CLEAR_(ret, name, params) dl->name = NULL;
    SHMIFACE_DL_FUNCTIONS(SHMIFACE_DL_CLEAR_)
    SHMIFACE_DL_OPTIONAL_FUNCTIONS(SHMIFACE_DL_CLEAR_)
#undef SHMIFACE_DL_CLEAR_
}

/* dlopen one candidate; on failure append dlerror() to dl->error. */
static void *try_open(shmiface_dl *dl, const char *path) {
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        size_t used = strlen(dl->error);
        snprintf(dl->error + used, sizeof dl->error - used, "%s%s", used ? "; " : "",
                 why ? why : path);
    }
    return handle;
}

int shmiface_dl_open(shmiface_dl *dl, const char *path) {
    if (dl == NULL) {
        return -1;
    }
    clear_table(dl);
    dl->error[0] = '\0';

    void *handle;
    const char *where = path; /* the name that loaded, for messages */
    if (path != NULL) {
        handle = try_open(dl, path);
    } else {
        where = "libshmiface.so.1";
        handle = try_open(dl, where);
        if (handle == NULL) {
            where = "libshmiface.so";
            handle = try_open(dl, where);
        }
    }
    if (handle == NULL) {
        char why[SHMIFACE_DL_ERROR_LEN];
        memcpy(why, dl->error, sizeof why);
        set_error(dl, "shmiface_dl: cannot load libshmiface: %s", why);
        return -1;
    }

    /*
     * dlsym returns void *; ISO C has no conversion from an object pointer
     * to a function pointer, so copy the bytes (POSIX guarantees they have
     * the same representation). This keeps -Wpedantic quiet without casts.
     */
#define SHMIFACE_DL_RESOLVE_(ret, name, params)                                                 \
    {                                                                                            \
        dlerror();                                                                               \
        void *sym = dlsym(handle, "shmiface_" #name);                                           \
        if (sym == NULL) {                                                                       \
            const char *why = dlerror();                                                         \
            set_error(dl, "shmiface_dl: %s has no symbol shmiface_" #name " (%s)",              \
                      where, why ? why : "NULL address");                  \
            goto fail;                                                                           \
        }                                                                                        \
        _Static_assert(sizeof dl->name == sizeof sym, "function pointer size");                  \
        memcpy(&dl->name, &sym, sizeof sym);                                                     \
    }
    SHMIFACE_DL_FUNCTIONS(SHMIFACE_DL_RESOLVE_)
#undef SHMIFACE_DL_RESOLVE_

#define SHMIFACE_DL_RESOLVE_OPTIONAL_(ret, name, params)                                        \
    {                                                                                            \
        void *sym = dlsym(handle, "shmiface_" #name);                                           \
        if (sym != NULL) {                                                                       \
            memcpy(&dl->name, &sym, sizeof sym);                                                 \
        }                                                                                        \
    }
    SHMIFACE_DL_OPTIONAL_FUNCTIONS(SHMIFACE_DL_RESOLVE_OPTIONAL_)
#undef SHMIFACE_DL_RESOLVE_OPTIONAL_

    {
        uint32_t abi = dl->abi_version();
        if (abi != SHMIFACE_ABI_VERSION) {
            set_error(dl,
                      "shmiface_dl: %s speaks ABI version %u, this program was built for "
                      "version %u",
                      where, (unsigned)abi,
                      (unsigned)SHMIFACE_ABI_VERSION);
            goto fail;
        }
    }

    dl->handle = handle;
    return 0;

fail:
    dlclose(handle);
    clear_table(dl);
    return -1;
}

void shmiface_dl_close(shmiface_dl *dl) {
    if (dl == NULL || dl->handle == NULL) {
        return;
    }
    dlclose(dl->handle);
    clear_table(dl);
}
