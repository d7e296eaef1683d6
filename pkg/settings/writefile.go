package settings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/stacksync/stacksync/internal/localfile"
)

// ErrChanged is returned by Update when another program changed the
// settings file while it was being updated, on the second try as on the
// first. The file then holds what the other program wrote.
var ErrChanged = errors.New("settings file changed while stacksync was updating it")

// Update reads the settings file at path, passes its bytes to edit (nil when
// there is no file) and replaces the file atomically with what edit returns:
// it writes a temporary file in the same directory, fsyncs it, checks that
// the file is still what was read (inode, size, mtime and content), renames
// the temporary file over it and fsyncs the directory. It reports whether
// the file was written.
//
// When edit returns the bytes it was given (or nothing for a missing file),
// or an error, nothing is written and edit's error is returned as is. When
// the file changed after it was read, edit runs once more on the new bytes;
// if it changes again, Update returns an error wrapping [ErrChanged] and
// leaves the other writer's bytes in place. A change in the instant between
// the check and the rename cannot be detected without a lock, which pulumi
// does not take either.
//
// An existing file keeps its mode and, where the process may set them, its
// owner and group; a new one gets 0644 whatever the umask. A file that the
// process may not write is refused even when its directory would allow the
// rename, as pulumi's own write would fail. A symlink at path is followed
// and its target replaced, so the link stays a link; a dangling symlink is
// written through only when the directory it points into exists. A missing
// directory is created (0755) only when path itself is not a symlink, for a
// stackConfigDir that a fresh checkout lacks. Anything but a regular file
// (a directory, a named pipe, a device, a socket) is refused without
// blocking on it.
//
// Update returns ctx's error, leaving the file alone, when ctx is done
// before the rename.
func Update(ctx context.Context, path string, edit func(old []byte) ([]byte, error)) (written bool, err error) {
	return updater{}.update(ctx, path, edit)
}

// updater carries the seams tests use to reach the steps of Update that the
// file system alone cannot reach: the zero value is Update.
type updater struct {
	// beforeCheck runs after the temporary file is written and before the
	// settings file is checked for changes.
	beforeCheck func(target string)
	// rename replaces os.Rename.
	rename func(oldpath, newpath string) error
	// chown replaces (*os.File).Chown in keepOwner.
	chown func(f *os.File, uid, gid int) error
}

// snapshot is the settings file as Update read it.
type snapshot struct {
	info fs.FileInfo // nil: there was no file
	data []byte
}

func (u updater) update(ctx context.Context, path string, edit func(old []byte) ([]byte, error)) (bool, error) {
	target, linked, err := resolveLink(path)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		old, err := readSnapshot(ctx, path, target)
		if err != nil {
			return false, err
		}
		data, err := edit(old.data)
		if err != nil {
			return false, err
		}
		if bytes.Equal(data, old.data) {
			return false, nil
		}
		err = u.replace(ctx, path, target, linked, old, data)
		if !errors.Is(err, errStale) {
			return err == nil, err
		}
		if attempt == 1 {
			return false, fmt.Errorf("write %s: %w, twice; nothing was lost: rerun stacksync when the other program is done", path, ErrChanged)
		}
	}
}

// errStale says the file changed between the read and the rename.
var errStale = errors.New("stale read")

// settingsLimit caps a settings file. The YAML editor takes files of up to
// 2047 MiB (its line offsets are int32) and the catalogue restores a 50 MB
// one; 2 GiB keeps every file the editor takes, and refuses a larger one
// before reading it.
var settingsLimit = localfile.Limit{Max: 2 << 30, Of: "a settings file"}

// readSnapshot reads the regular file at target (path is the name the user
// gave). It opens the file without blocking, so a named pipe cannot stall
// it, refuses anything but a regular file, and stops when ctx is done.
func readSnapshot(ctx context.Context, path, target string) (snapshot, error) {
	data, fi, err := localfile.ReadStat(ctx, target, settingsLimit)
	var special *localfile.NotRegularError
	var large *localfile.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return snapshot{}, nil
	case errors.As(err, &special):
		return snapshot{}, fmt.Errorf("read %s: it is %s, not a regular file; a settings file must be a plain file", path, special.Kind())
	case errors.As(err, &large):
		return snapshot{}, fmt.Errorf("read %s: it is larger than %v, the most stacksync reads of %s", path, large.Limit, large.Limit.Of)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return snapshot{}, ctx.Err()
	case err != nil:
		return snapshot{}, fmt.Errorf("read %s: %w", path, err)
	}
	// What the file holds now may be more or less than the stat said; the
	// check before the rename compares both again.
	return snapshot{info: fi, data: data}, nil
}

// replace writes data over target, which held old when it was read. It
// returns errStale when target no longer holds old.
func (u updater) replace(ctx context.Context, path, target string, linked bool, old snapshot, data []byte) error {
	mode := fs.FileMode(0o644)
	dir := filepath.Dir(target)
	if old.info != nil {
		mode = old.info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		// The rename below would replace even a file we may not write, as
		// long as the directory is writable. Refuse what pulumi's own
		// in-place write would be refused: open it for writing, without
		// truncating, and close it again.
		f, err := os.OpenFile(target, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("write %s: the file is not writable (%w); make it writable (chmod u+w) or restore elsewhere", path, err)
		}
		f.Close()
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if linked {
			// pulumi writes through the link with os.WriteFile, which
			// fails here; creating the directory could reach anywhere.
			return fmt.Errorf("write %s: it is a symlink to %s, whose directory does not exist; create the directory or fix the link", path, target)
		}
		// A new file may go into a stackConfigDir that a fresh checkout
		// lacks; pulumi creates it too.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := u.writeTemp(ctx, target, data, mode, old, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a temporary file next to target, checks that
// target still holds old, and renames the temporary file over it.
func (u updater) writeTemp(ctx context.Context, target string, data []byte, mode fs.FileMode, old snapshot, path string) (err error) {
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := createTemp(dir, base)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("directory %s is not writable: settings files are replaced atomically through a temporary file beside them; make the directory writable", filepath.Clean(dir))
		}
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	// Keep the replaced file's owner and group where we may (root, or a
	// group we belong to); a rename would otherwise hand the file to us.
	if old.info != nil {
		u.keepOwner(tmp, old.info)
	}
	// Chmod is not subject to the umask, unlike the mode given at creation.
	// It comes after the chown, which may clear setuid and setgid bits.
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if u.beforeCheck != nil {
		u.beforeCheck(target)
	}
	if err = unchanged(target, old); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	rename := u.rename
	if rename == nil {
		rename = os.Rename
	}
	if err = rename(tmp.Name(), target); err != nil {
		if st, serr := os.Stat(dir); errors.Is(err, fs.ErrPermission) && serr == nil && st.Mode()&os.ModeSticky != 0 {
			return fmt.Errorf("cannot replace %s: its directory %s is sticky (as /tmp is) and the file belongs to another user; run as the file's owner, or move the file out of that directory", target, filepath.Clean(dir))
		}
		return err
	}
	return syncDir(dir)
}

// tempSuffix follows ".<settings file name>" in the name of a temporary
// file Update writes.
const tempSuffix = ".stacksync-"

// staleTemp is the age past which a temporary file of Update is taken for
// one a killed run left: a write holds it for milliseconds, and a command
// gives up after 10 minutes by default.
const staleTemp = time.Hour

// tempSlots is how many temporary file names one settings file has: as
// many writers at once, and as many leftovers of killed runs, as matter.
const tempSlots = 8

// createTemp creates the temporary file for base in dir under one of a few
// fixed names (.<base>.stacksync-0 …), so that a leftover of a run killed
// between the write and the rename is found with a stat and removed once
// it is stale, instead of staying forever; with every name busy it falls
// back to a random one.
func createTemp(dir, base string) (*os.File, error) {
	for n := 0; n < tempSlots; n++ {
		name := filepath.Join(dir, "."+base+tempSuffix+strconv.Itoa(n))
		for try := 0; try < 2; try++ {
			f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if !errors.Is(err, fs.ErrExist) {
				return f, err
			}
			fi, err := os.Lstat(name)
			if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleTemp || os.Remove(name) != nil {
				break // another writer's, or not ours to remove
			}
		}
	}
	return os.CreateTemp(dir, "."+base+tempSuffix+"*")
}

// unchanged returns errStale unless target is still the file old was read
// from, with the same size, mtime and bytes (or still absent).
func unchanged(target string, old snapshot) error {
	fi, err := os.Stat(target)
	if old.info == nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return errStale
	}
	if err != nil || !os.SameFile(fi, old.info) || fi.Size() != old.info.Size() ||
		!fi.ModTime().Equal(old.info.ModTime()) || fi.Size() != int64(len(old.data)) {
		return errStale
	}
	f, err := os.OpenFile(target, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return errStale
	}
	defer f.Close()
	if same, err := sameContent(f, old.data); err != nil || !same {
		return errStale
	}
	return nil
}

// sameContent reports whether r holds exactly want, reading it in pieces.
func sameContent(r io.Reader, want []byte) (bool, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > len(want) || !bytes.Equal(buf[:n], want[:n]) {
			return false, nil
		}
		want = want[n:]
		if errors.Is(err, io.EOF) {
			return len(want) == 0, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// resolveLink follows symlinks at the last element of path (not necessarily
// to an existing file) and returns the path to write, and whether a link was
// followed.
func resolveLink(path string) (target string, linked bool, err error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return path, linked, nil
			}
			return "", false, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, linked, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path, linked = link, true
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// syncDir fsyncs a directory so a rename in it is durable. Platforms and
// file systems that cannot sync a directory are not an error.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
