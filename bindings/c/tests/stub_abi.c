/*
 * stub_abi.c — a library that exports every symbol of the ABI (generated
 * from the loader's own list) but answers shmiface_abi_version() with 0:
 * the loader must refuse it. A test fixture only; nothing here works.
 */
#include "shmiface_dl.h"

#define STUB_(ret, name, params) \
    ret shmiface_##name params { return (ret)0; }
SHMIFACE_DL_FUNCTIONS(STUB_)
SHMIFACE_DL_OPTIONAL_FUNCTIONS(STUB_)
