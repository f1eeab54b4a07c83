/* The C side of the cross-language tests.
 *   peer owner NAME    create NAME, then answer
 *   peer attach NAME   attach to NAME, then answer
 *   peer produce NAME COUNT   attach, set "c<i>" for i = 1..COUNT, print
 *                             "done <last version>"
 *   peer consume NAME COUNT   attach, print "ready", then take COUNT values
 *                             in order with shmiface_next from version 0,
 *                             one line each: "<version> <lost> <value>"
 * Answering: every notification whose value is not an answer gets the
 * answer "c:<value>" with a notification; "quit" ends it (the owner then
 * destroys the segment); an attacher also ends when the owner destroys it.
 * It prints "ready" once it listens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmiface.h"

static int fail(const char *what, shmiface_status s) {
    char detail[512];
    shmiface_last_error(detail, sizeof detail);
    fprintf(stderr, "peer: %s: %s (%s)\n", what, shmiface_status_str(s), detail);
    return 1;
}

static int produce(shmiface_segment *seg, long count) {
    char value[64];
    uint64_t version = 0;
    shmiface_status s;
    for (long i = 1; i <= count; i++) {
        snprintf(value, sizeof value, "c%ld", i);
        s = shmiface_set_bytes(seg, (const uint8_t *)value, strlen(value), 0, &version);
        if (s != SHMIFACE_OK) return fail("set_bytes", s);
    }
    printf("done %llu\n", (unsigned long long)version);
    return shmiface_destroy(seg) == SHMIFACE_OK ? 0 : 1;
}

static int consume(shmiface_segment *seg, long count) {
    uint8_t value[4096];
    uint64_t version = 0, before;
    size_t len;
    shmiface_status s;
    printf("ready\n");
    fflush(stdout);
    for (long i = 0; i < count; i++) {
        before = version;
        s = shmiface_next(seg, &version, value, sizeof value - 1, &len, 60000);
        if (s != SHMIFACE_OK) return fail("next", s);
        value[len] = 0;
        printf("%llu %llu %s\n", (unsigned long long)version, (unsigned long long)(version - before - 1),
               (const char *)value);
    }
    fflush(stdout);
    return shmiface_destroy(seg) == SHMIFACE_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    shmiface_segment *seg = NULL;
    shmiface_info info;
    shmiface_status s;
    uint64_t seen;
    char value[4096], answer[4096 + 3];
    int owner;
    if (argc == 4 && (strcmp(argv[1], "produce") == 0 || strcmp(argv[1], "consume") == 0)) {
        if ((s = shmiface_get_instance(argv[2], &seg)) != SHMIFACE_OK) return fail("attach", s);
        return argv[1][0] == 'p' ? produce(seg, atol(argv[3])) : consume(seg, atol(argv[3]));
    }
    if (argc != 3) {
        fprintf(stderr, "usage: peer owner|attach NAME | peer produce|consume NAME COUNT\n");
        return 2;
    }
    owner = strcmp(argv[1], "owner") == 0;
    s = owner ? shmiface_init_instance(argv[2], NULL, &seg) : shmiface_get_instance(argv[2], &seg);
    if (s != SHMIFACE_OK) return fail(argv[1], s);
    if ((s = shmiface_get_info(seg, &info)) != SHMIFACE_OK) return fail("get_info", s);
    seen = info.notify_count;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        s = shmiface_wait(seg, &seen, 60000);
        if (s == SHMIFACE_ERR_DESTROYED && !owner) break;
        if (s != SHMIFACE_OK) return fail("wait", s);
        if ((s = shmiface_get_string(seg, value, sizeof value, NULL)) != SHMIFACE_OK) return fail("get", s);
        if (strcmp(value, "quit") == 0) break;
        if (strncmp(value, "c:", 2) == 0) continue; /* our own answer */
        snprintf(answer, sizeof answer, "c:%s", value);
        if ((s = shmiface_set_string_notify(seg, answer)) != SHMIFACE_OK) return fail("set", s);
    }
    return shmiface_destroy(seg) == SHMIFACE_OK ? 0 : 1;
}
