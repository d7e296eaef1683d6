//go:build unix

package settings

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Replacing a file keeps its owner and group. As root the file is given to
// another user and must come back to them; as anyone else, to a
// supplementary group of the process, which a file owner may set.
func TestWriteFileKeepsOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	uid, gid := 65534, 65534 // nobody
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), -1
		groups, _ := os.Getgroups()
		for _, g := range groups {
			if g != os.Getegid() {
				gid = g
			}
		}
		if gid < 0 {
			t.Skip("not root and in no supplementary group; TestKeepOwnerSeam covers the chown calls")
		}
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want %d:%d 0640", st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
	}
}

// keepOwner asks for the old owner and group, and when that is refused
// (not root) for the group alone. Runs as any user.
func TestKeepOwnerSeam(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := *fi.Sys().(*syscall.Stat_t)
	st.Uid, st.Gid = 4242, 4343
	old := statInfo{fi, &st}
	for _, refuse := range []bool{false, true} {
		var calls []string
		u := updater{chown: func(_ *os.File, uid, gid int) error {
			calls = append(calls, fmt.Sprintf("%d:%d", uid, gid))
			if refuse && uid >= 0 {
				return syscall.EPERM
			}
			return nil
		}}
		u.keepOwner(f, old)
		want := "4242:4343"
		if refuse {
			want = "4242:4343 -1:4343"
		}
		if got := strings.Join(calls, " "); got != want {
			t.Errorf("refuse=%v: chown calls %q, want %q", refuse, got, want)
		}
	}
}

// statInfo is a FileInfo whose Sys is a made-up stat.
type statInfo struct {
	os.FileInfo
	st *syscall.Stat_t
}

func (s statInfo) Sys() any { return s.st }
