#pragma once
// xxHash (Debian's libxxhash-dev) used header-only, so the hash inlines into
// its callers on the per-event path and nothing needs linking.

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>
