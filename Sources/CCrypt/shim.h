// The system's libcrypt (libxcrypt on Debian: libcrypt-dev, which every C
// toolchain installs). Only EtcdServer's PasswordHash imports this module,
// to check the bcrypt hashes of users restored from an etcd snapshot.
#ifndef SWIFTETCD_CCRYPT_SHIM_H
#define SWIFTETCD_CCRYPT_SHIM_H
#include <crypt.h>
#endif
