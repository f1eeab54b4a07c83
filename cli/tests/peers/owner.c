/* The C peer of the `shmiface` command's tests: a process that owns (or
 * attaches to) a segment through the C ABI and answers commands, one a
 * line, on standard input.
 *
 *   owner owner  NAME CAPACITY MODE PERSISTENT   create NAME (MODE in octal,
 *                                                PERSISTENT 0 or 1)
 *   owner attach NAME                            attach to NAME
 *
 * It prints "ready PID" once it holds the segment, then answers:
 *   set TEXT    set the value              -> ok
 *   setn TEXT   set it and notify          -> ok
 *   notify      notify                     -> ok
 *   get         read the value             -> value TEXT
 *   arm         remember the notification count now            -> armed
 *   wait        wait (30 s at most, a hang guard) for a notification
 *               after the one armed        -> notified TEXT | timeout | destroyed
 *   destroy     destroy the handle         -> ok
 * A failing call answers "error STATUS: DETAIL". At the end of its input
 * it destroys the handle and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmiface.h"

static void answer_error(shmiface_status s) {
    char detail[512];
    shmiface_last_error(detail, sizeof detail);
    printf("error %s: %s\n", shmiface_status_str(s), detail);
}

int main(int argc, char **argv) {
    shmiface_segment *seg = NULL;
    shmiface_options options = {0};
    shmiface_info info;
    shmiface_status s;
    uint64_t seen = 0;
    static char line[8192], value[8192];
    int owner = argc == 6 && strcmp(argv[1], "owner") == 0;

    if (!owner && !(argc == 3 && strcmp(argv[1], "attach") == 0)) {
        fprintf(stderr, "usage: owner owner NAME CAPACITY MODE PERSISTENT | owner attach NAME\n");
        return 2;
    }
    if (owner) {
        options.capacity = strtoull(argv[3], NULL, 10);
        options.mode = (uint32_t)strtoul(argv[4], NULL, 8);
        options.flags = strcmp(argv[5], "1") == 0 ? SHMIFACE_PERSISTENT : 0;
        s = shmiface_init_instance(argv[2], &options, &seg);
    } else {
        s = shmiface_get_instance(argv[2], &seg);
    }
    if (s != SHMIFACE_OK) {
        answer_error(s);
        return 1;
    }
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);

    while (fgets(line, sizeof line, stdin) != NULL) {
        char *arg;
        line[strcspn(line, "\n")] = '\0';
        arg = strchr(line, ' ');
        if (arg != NULL) *arg++ = '\0';
        if (arg == NULL) arg = "";
        s = SHMIFACE_OK;
        if (strcmp(line, "set") == 0) {
            if ((s = shmiface_set_string(seg, arg)) == SHMIFACE_OK) printf("ok\n");
        } else if (strcmp(line, "setn") == 0) {
            if ((s = shmiface_set_string_notify(seg, arg)) == SHMIFACE_OK) printf("ok\n");
        } else if (strcmp(line, "notify") == 0) {
            if ((s = shmiface_notify(seg)) == SHMIFACE_OK) printf("ok\n");
        } else if (strcmp(line, "get") == 0) {
            if ((s = shmiface_get_string(seg, value, sizeof value, NULL)) == SHMIFACE_OK)
                printf("value %s\n", value);
        } else if (strcmp(line, "arm") == 0) {
            if ((s = shmiface_get_info(seg, &info)) == SHMIFACE_OK) {
                seen = info.notify_count;
                printf("armed\n");
            }
        } else if (strcmp(line, "wait") == 0) {
            s = shmiface_wait(seg, &seen, 30000);
            if (s == SHMIFACE_ERR_TIMEOUT) {
                printf("timeout\n");
                s = SHMIFACE_OK;
            } else if (s == SHMIFACE_ERR_DESTROYED) {
                printf("destroyed\n");
                s = SHMIFACE_OK;
            } else if (s == SHMIFACE_OK &&
                       (s = shmiface_get_string(seg, value, sizeof value, NULL)) == SHMIFACE_OK) {
                printf("notified %s\n", value);
            }
        } else if (strcmp(line, "destroy") == 0) {
            s = shmiface_destroy(seg);
            seg = NULL;
            if (s == SHMIFACE_OK) printf("ok\n");
        } else {
            printf("error unknown command %s\n", line);
        }
        if (s != SHMIFACE_OK) answer_error(s);
        fflush(stdout);
    }
    return shmiface_destroy(seg) == SHMIFACE_OK ? 0 : 1;
}
