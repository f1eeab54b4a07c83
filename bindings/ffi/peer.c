/* The C side of the FFI rounds (run_round.sh): owns a segment and answers
 * one client written against include/shmiface_ffi.h in another language.
 *
 *   peer NAME
 *
 * Creates NAME and prints "ready". Waits for a value "ping from WHO" and
 * answers "pong to WHO" with a notification; waits for "done", then prints
 * "peer: ok" and destroys the segment. Each wait is bounded (a hang guard):
 * any failure prints "peer: FAIL ..." and exits 1.
 *
 * Each side waits in a loop until the value it wants is there: a wait
 * returns on the count moving, and the first one also sees this side's
 * own notification, so the value, not the wake-up, says what happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmiface.h"

static shmiface_segment *seg;
static uint64_t seen;

static void fail(const char *what, shmiface_status s) {
    char detail[256];
    shmiface_last_error(detail, sizeof detail);
    printf("peer: FAIL %s: %s (%s)\n", what, shmiface_status_str(s), detail);
    exit(1);
}

/* Waits until the value starts with `prefix`; copies it into value. */
static void await_value(const char *prefix, char *value, size_t size) {
    for (;;) {
        size_t len;
        shmiface_status s = shmiface_get_string(seg, value, size, &len);
        if (s != SHMIFACE_OK) fail("get_string", s);
        if (strncmp(value, prefix, strlen(prefix)) == 0) return;
        s = shmiface_wait(seg, &seen, 30000);
        if (s != SHMIFACE_OK) fail(prefix, s);
    }
}

int main(int argc, char **argv) {
    shmiface_options options = {.capacity = 256, .mode = 0600};
    char value[257], reply[300];
    shmiface_status s;

    if (argc != 2) {
        fprintf(stderr, "usage: peer NAME\n");
        return 2;
    }
    s = shmiface_init_instance(argv[1], &options, &seg);
    if (s != SHMIFACE_OK) fail("init_instance", s);
    printf("ready\n");
    fflush(stdout);

    await_value("ping from ", value, sizeof value);
    snprintf(reply, sizeof reply, "pong to %s", value + strlen("ping from "));
    s = shmiface_set_string_notify(seg, reply);
    if (s != SHMIFACE_OK) fail("set_string_notify", s);
    await_value("done", value, sizeof value);

    printf("peer: ok\n");
    s = shmiface_destroy(seg);
    if (s != SHMIFACE_OK) fail("destroy", s);
    return 0;
}
