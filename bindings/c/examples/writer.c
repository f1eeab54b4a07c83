/*
 * writer — the demo's C writer (C11, the plain C API).
 *
 *   writer [NAME] < lines          (NAME defaults to shmiface-demo)
 *
 * Attaches to the segment NAME (the owner must be running) and sets each
 * line read from standard input as the value, with notify, so the owner's
 * worker wakes and appends "...". Exits 0 at end of input, 1 on an error
 * (for example when the owner has destroyed the segment).
 */
#define _POSIX_C_SOURCE 200809L

#include <shmiface.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report(const char *call, shmiface_status status) {
    char detail[256];
    shmiface_last_error(detail, sizeof detail);
    fprintf(stderr, "[writer.c] %s: %s%s%s%s\n", call, shmiface_status_str(status),
            detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "shmiface-demo";
    if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [NAME] < lines\n", argv[0]);
        return 2;
    }

    shmiface_segment *seg = NULL;
    shmiface_status st = shmiface_get_instance(name, &seg);
    if (st != SHMIFACE_OK) {
        report("shmiface_get_instance", st);
        if (st == SHMIFACE_ERR_NOT_FOUND) {
            fprintf(stderr, "[writer.c] no segment \"%s\": start the owner first\n", name);
        }
        return 1;
    }
    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "[writer.c] attached to \"%s\": type a line and press Enter (Ctrl-D ends)\n",
                name);
    }

    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) != -1) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        st = shmiface_set_string_notify(seg, line);
        if (st != SHMIFACE_OK) {
            report("shmiface_set_string_notify", st);
            rc = 1;
            break;
        }
        printf("[writer.c] sent \"%s\"\n", line);
        fflush(stdout);
    }
    free(line);
    st = shmiface_destroy(seg);
    if (st != SHMIFACE_OK) {
        report("shmiface_destroy", st);
        rc = 1;
    }
    return rc;
}
