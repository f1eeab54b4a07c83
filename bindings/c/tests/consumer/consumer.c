/* consumer.c — a C program built with `pkg-config --cflags --libs shmiface`
 * alone against an installed shmiface (and statically with --static). */
#include <shmiface.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "consumer.c:%d: failed: %s\n", __LINE__, #cond);     \
            return 1;                                                            \
        }                                                                        \
    } while (0)

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "shmiface-test-consumer-c-%ld", (long)getpid());
    REQUIRE(shmiface_abi_version() == SHMIFACE_ABI_VERSION);

    shmiface_segment *seg = NULL;
    REQUIRE(shmiface_init_instance(name, NULL, &seg) == SHMIFACE_OK);
    REQUIRE(shmiface_set_string_notify(seg, "installed") == SHMIFACE_OK);
    char buf[32];
    size_t len = 0;
    REQUIRE(shmiface_get_string(seg, buf, sizeof buf, &len) == SHMIFACE_OK);
    REQUIRE(len == 9 && strcmp(buf, "installed") == 0);
    shmiface_info info;
    REQUIRE(shmiface_get_info(seg, &info) == SHMIFACE_OK);
    REQUIRE(info.capacity == 128 && info.version == 1 && info.notify_count == 1 && info.is_owner);
    REQUIRE(shmiface_destroy(seg) == SHMIFACE_OK);
    REQUIRE(shmiface_get_instance(name, &seg) == SHMIFACE_ERR_NOT_FOUND);
    printf("consumer.c: ok (libshmiface %s)\n", shmiface_version());
    return 0;
}
