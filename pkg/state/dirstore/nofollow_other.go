//go:build !unix

package dirstore

// oNoFollow is 0 where the system has no O_NOFOLLOW (windows); there the
// link check before the open is the only guard.
const oNoFollow = 0
