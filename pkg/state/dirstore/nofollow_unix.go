//go:build unix

package dirstore

import "syscall"

// oNoFollow makes an open of a symbolic link fail with ELOOP.
const oNoFollow = syscall.O_NOFOLLOW
