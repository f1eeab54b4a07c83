/* boost_design.h — bench_ops's Boost.Interprocess baseline, the design a
 * user would start from: an interprocess_mutex, a length and a char[128],
 * placed in a POSIX shared-memory object. Implemented in C++
 * (boost_design.cpp, Boost's headers only) and linked into bench_ops, so
 * that its rounds interleave with shmiface's in the same loop and process.
 * No exception crosses these calls: a failure returns NULL or -1. */
#ifndef SHMIFACE_BENCH_BOOST_DESIGN_H
#define SHMIFACE_BENCH_BOOST_DESIGN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value's room, as in the design: char[BOOST_DESIGN_CAPACITY]. */
#define BOOST_DESIGN_CAPACITY 128

typedef struct boost_design boost_design;

/* Creates the shared-memory object `name`, maps it and constructs the box
 * in it; the name is unlinked at once (the mapping stays). NULL on failure,
 * with the reason in err. */
boost_design *boost_design_new(const char *name, char *err, size_t err_len);
/* Stores the NUL-terminated value under the lock; -1 if it does not fit. */
int boost_design_set(boost_design *d, const char *value);
/* Copies the value and a NUL into buf under the lock; -1 if buf is short. */
int boost_design_get(boost_design *d, char *buf, size_t buf_len, size_t *len_out);
void boost_design_free(boost_design *d);

#ifdef __cplusplus
}
#endif

#endif
