//go:build unix

package localfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// limit is the limit of the tests: 1 KiB of "a test file".
var limit = Limit{Max: 1 << 10, Of: "a test file"}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	symlink := func(name, target string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain", []byte("hello\n"))
	full := write("full", bytes.Repeat([]byte("x"), int(limit.Max)))
	over := write("over", bytes.Repeat([]byte("x"), int(limit.Max)+1))
	empty := write("empty", nil)
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<30); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	if l, err := net.Listen("unix", sock); err == nil {
		defer l.Close()
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		want    string
		wantErr string // a fragment of the message; "" for none
		is      error  // what the error must wrap, if anything
	}{
		{name: "regular file", path: plain, want: "hello\n"},
		{name: "exactly the limit", path: full, want: string(bytes.Repeat([]byte("x"), int(limit.Max)))},
		{name: "empty file", path: empty, want: ""},
		{name: "symlink to a regular file is followed", path: symlink("link", plain), want: "hello\n"},
		{name: "one byte over the limit", path: over, wantErr: over + " is larger than 1 KiB, the most stacksync reads of a test file"},
		{name: "1 GiB sparse file", path: sparse, wantErr: sparse + " is larger than 1 KiB"},
		{name: "named pipe", path: fifo, wantErr: fifo + " is a named pipe (FIFO), not a regular file"},
		{name: "symlink to a named pipe", path: symlink("fifolink", fifo), wantErr: "fifolink is a named pipe (FIFO)"},
		{name: "socket", path: sock, wantErr: sock + " is a socket, not a regular file"},
		{name: "/dev/zero", path: "/dev/zero", wantErr: "/dev/zero is a device, not a regular file"},
		{name: "symlink to /dev/zero", path: symlink("zero", "/dev/zero"), wantErr: "zero is a device"},
		{name: "directory", path: dir, wantErr: dir + " is a directory, not a regular file"},
		{name: "missing file", path: filepath.Join(dir, "nope"), wantErr: "open " + filepath.Join(dir, "nope"), is: fs.ErrNotExist},
		{name: "canceled context", ctx: canceled, path: plain, wantErr: "read " + plain, is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil && tt.is == nil {
				t.Skipf("%s: %v", tt.path, err)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			// Nothing may block: a deadline well short of the test's.
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				data, err := Read(ctx, tt.path, limit)
				done <- result{data, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("Read(%s) blocked", tt.path)
			}
			if tt.wantErr == "" {
				if r.err != nil || string(r.data) != tt.want || r.data == nil {
					t.Fatalf("Read = %.40q (nil %v), %v; want %.40q", r.data, r.data == nil, r.err, tt.want)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) || strings.Contains(r.err.Error(), "\n") {
				t.Fatalf("Read = %d bytes, %v; want one line holding %q", len(r.data), r.err, tt.wantErr)
			}
			if r.data != nil {
				t.Errorf("Read returned %d bytes with its error", len(r.data))
			}
			if tt.is != nil && !errors.Is(r.err, tt.is) {
				t.Errorf("Read error %v does not wrap %v", r.err, tt.is)
			}
		})
	}
}

// The open that follows the stat, for a file swapped in between, refuses
// a named pipe and a device without blocking on them.
func TestOpenSwapped(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "a named pipe (FIFO)", "/dev/zero": "a device"} {
		done := make(chan error, 1)
		go func() {
			f, _, err := open(path, limit)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			var nr *NotRegularError
			if !errors.As(err, &nr) || nr.Kind() != want {
				t.Errorf("open(%s) = %v; want a NotRegularError naming %s", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("open(%s) blocked", path)
		}
	}
}

// A file that grows past the limit after its stat is cut at limit.Max+1
// bytes, and a context done between two reads stops the read.
func TestReadBounds(t *testing.T) {
	grown := bytes.Repeat([]byte("y"), 3*chunk)
	tests := []struct {
		name string
		r    io.Reader
		size int64 // what the stat said
		max  int64
		want error
	}{
		{name: "grew past the limit", r: bytes.NewReader(grown), size: 10, max: chunk, want: errTooLarge},
		{name: "grew within the limit", r: bytes.NewReader(grown), size: 10, max: 4 * chunk},
		{name: "one byte at a time", r: iotest.OneByteReader(bytes.NewReader([]byte("abc"))), size: 3, max: 10},
		{name: "read error", r: iotest.ErrReader(syscall.EIO), size: 3, max: 10, want: syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := read(context.Background(), tt.r, tt.size, Limit{Max: tt.max})
			if !errors.Is(err, tt.want) {
				t.Fatalf("read = %d bytes, %v; want %v", len(data), err, tt.want)
			}
			if err == nil && int64(len(data)) > tt.max {
				t.Errorf("read %d bytes, over the limit %d", len(data), tt.max)
			}
		})
	}

	// The context is canceled by the first read: the second never runs.
	ctx, cancel := context.WithCancel(context.Background())
	reads := 0
	r := readerFunc(func(p []byte) (int, error) {
		reads++
		cancel()
		return len(p), nil
	})
	if _, err := read(ctx, r, 3*chunk, Limit{Max: 4 * chunk}); !errors.Is(err, context.Canceled) || reads != 1 {
		t.Errorf("read after cancel = %v after %d reads; want context.Canceled after 1", err, reads)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestLimitString(t *testing.T) {
	for max, want := range map[int64]string{
		1 << 20: "1 MiB", 4 << 20: "4 MiB", 2 << 30: "2 GiB", 64 << 10: "64 KiB", 1000: "1000 bytes", 3<<20 + 1: "3145729 bytes",
	} {
		if got := (Limit{Max: max}).String(); got != want {
			t.Errorf("Limit{%d} = %q; want %q", max, got, want)
		}
	}
}
