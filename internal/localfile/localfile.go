// Package localfile reads the small local files stacksync reads besides
// checkpoints (a passphrase file, pulumi's credentials.json, the project
// file, stack settings files) with the same care as a checkpoint: a size
// cap, no blocking on a named pipe or a device, and a read that stops when
// its context is done.
package localfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Limit is the most stacksync reads of one kind of file.
type Limit struct {
	// Max is the largest size read, in bytes.
	Max int64
	// Of names the kind of file in messages: "a passphrase file".
	Of string
}

// String is the cap as a message gives it: "1 MiB".
func (l Limit) String() string {
	switch n := l.Max; {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", l.Max)
}

// TooLargeError is the error for a file larger than its [Limit].
type TooLargeError struct {
	Path  string
	Limit Limit
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %v, the most stacksync reads of %s", e.Path, e.Limit, e.Limit.Of)
}

// NotRegularError is the error for a path that names anything but a
// regular file (after symlinks): a directory, a named pipe, a socket, a
// device.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind())
}

// Kind names the file's type for a message: "a named pipe (FIFO)".
func (e *NotRegularError) Kind() string {
	switch m := e.Mode; {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// chunk is the most one read asks for, so that a done context is noticed
// between reads of a large file.
const chunk = 4 << 20

// openFlags opens without blocking: a named pipe with no writer makes a
// plain open wait forever, and the command's stop wait with it. (Windows ignores
// O_NONBLOCK and has no named pipes among files; Stat refuses its pipes.)
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK

// Read returns the bytes of the regular file at path, following symlinks
// as pulumi does. It refuses anything else with a [*NotRegularError]
// before reading a byte and without blocking, and a file larger than
// limit.Max with a [*TooLargeError], reading no more than limit.Max+1
// bytes of a file that grows. It returns a done context's error, wrapped
// with the path, between reads. An empty file is an empty, non-nil slice.
//
// Other errors are the [*fs.PathError] of the open or the read, which
// names the file; a missing file is one that wraps [fs.ErrNotExist]. On an
// error, and when the buffer grows, the bytes read so far are zeroed: they
// may be a secret.
func Read(ctx context.Context, path string, limit Limit) ([]byte, error) {
	data, _, err := ReadStat(ctx, path, limit)
	return data, err
}

// ReadStat reads the file at path as [Read] does, and returns as well what
// the stat of the opened file said of it, taken before the read.
func ReadStat(ctx context.Context, path string, limit Limit) ([]byte, fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	// Stat first: a socket cannot even be opened, and a device is better
	// never opened. A failed stat is left for the open to report, as
	// os.ReadFile would.
	if fi, err := os.Stat(path); err == nil {
		if err := check(path, fi, limit); err != nil {
			return nil, nil, err
		}
	}
	f, fi, err := open(path, limit)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := read(ctx, f, fi.Size(), limit)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, nil, &TooLargeError{Path: path, Limit: limit}
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	case err != nil:
		return nil, nil, err
	}
	return data, fi, nil
}

// open opens the regular file at path without blocking and returns its
// stat. It checks again what was opened, for a file swapped in since the
// stat of ReadStat.
func open(path string, limit Limit) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = check(path, fi, limit)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// check refuses what fi says is not a regular file or is over the limit.
func check(path string, fi fs.FileInfo, limit Limit) error {
	if !fi.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	if fi.Size() > limit.Max {
		return &TooLargeError{Path: path, Limit: limit}
	}
	return nil
}

// errTooLarge says read met more than limit.Max bytes.
var errTooLarge = errors.New("too large")

// read reads r to its end, size being what its stat said, in pieces of at
// most chunk bytes, checking ctx before each. A buffer it outgrows, and the
// buffer when it fails, are zeroed.
func read(ctx context.Context, r io.Reader, size int64, limit Limit) (data []byte, err error) {
	// One byte more than the file holds (or than the limit), so that the
	// read which meets the end needs no growing.
	data = make([]byte, 0, min(size, limit.Max)+1)
	defer func() {
		if err != nil {
			clear(data[:cap(data)])
			data = nil
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return data, err
		}
		if len(data) == cap(data) {
			if int64(len(data)) > limit.Max {
				return data, errTooLarge
			}
			grown := make([]byte, len(data), min(int64(cap(data))*2, limit.Max+1))
			copy(grown, data)
			clear(data)
			data = grown
		}
		end := min(cap(data), len(data)+chunk)
		n, err := r.Read(data[len(data):end])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(data)) > limit.Max {
				return data, errTooLarge
			}
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}
