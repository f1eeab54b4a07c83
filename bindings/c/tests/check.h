/* check.h — the ten-line test harness shared by the C and C++ tests. */
#ifndef SHMIFACE_CHECK_H
#define SHMIFACE_CHECK_H
#include <stdio.h>
static int check_passed, check_failed;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            check_passed++;                                                    \
        } else {                                                               \
            check_failed++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)
/* The plain closing line CI reads; the exit status follows it. */
#define CHECK_DONE(what)                                                       \
    (printf("%s: %d passed, %d failed\n", (what), check_passed, check_failed), \
     check_failed == 0 && check_passed > 0 ? 0 : 1)
#endif
