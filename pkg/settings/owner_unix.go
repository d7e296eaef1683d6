//go:build unix

package settings

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of old, as far as the process may:
// the owner only as root, the group when the process belongs to it. Failing
// is not an error: the file then belongs to whoever runs stacksync, as any
// file they write would.
func (u updater) keepOwner(f *os.File, old fs.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	chown := u.chown
	if chown == nil {
		chown = (*os.File).Chown
	}
	if chown(f, int(st.Uid), int(st.Gid)) != nil {
		_ = chown(f, -1, int(st.Gid))
	}
}
