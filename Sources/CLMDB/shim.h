// The system LMDB (Debian: liblmdb-dev). Only Storage/Backend imports this
// module; everything above it sees the Swift API, never LMDB's C types.
#ifndef SWIFTETCD_CLMDB_SHIM_H
#define SWIFTETCD_CLMDB_SHIM_H
#include <lmdb.h>
#endif
