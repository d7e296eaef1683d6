package transfer

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRangeHeader(t *testing.T) {
	for _, tt := range []struct {
		off, n int64
		want   string
	}{{0, -1, ""}, {0, 10, "bytes=0-9"}, {5, -1, "bytes=5-"}, {5, 1, "bytes=5-5"}} {
		if got := RangeHeader(tt.off, tt.n); got != tt.want {
			t.Errorf("RangeHeader(%d, %d) = %q, want %q", tt.off, tt.n, got, tt.want)
		}
	}
}

func TestBoundsFill(t *testing.T) {
	var c, h, r, i, b time.Duration = 0, -1, time.Second, 0, 0
	a := 0
	Bounds{ConnectTimeout: &c, TLSHandshakeTimeout: &h, ResponseHeaderTimeout: &r, IdleBodyTimeout: &i, MaxAttempts: &a, MaxBackoff: &b}.Fill()
	if c != 10*time.Second || h != 10*time.Second || r != time.Second || i != 20*time.Second || a != 3 || b != 5*time.Second {
		t.Errorf("Fill: %s %s %s %s %d %s", c, h, r, i, a, b)
	}
	if Attempts(1) != "" || Attempts(int32(3)) != " (3 attempts)" {
		t.Errorf("Attempts: %q %q", Attempts(1), Attempts(int32(3)))
	}
}

// breaking is a body that sends data, then fails with err.
type breaking struct {
	data string
	err  error
}

func (b *breaking) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *breaking) Close() error { return nil }

func resume(version string, fetch func(start, n int64, why string) (io.ReadCloser, error)) Resume {
	return Resume{
		Loc: "x://b/k", Off: 2, N: 10, Want: 10, Version: version, MaxAttempts: 3, Endpoint: "the X endpoint",
		Resumable: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) },
		Backoff:   func(int, error) time.Duration { return 0 },
		Fetch: func(_ context.Context, start, n int64, why string) (io.ReadCloser, error) {
			return fetch(start, n, why)
		},
	}
}

func TestBodyResumes(t *testing.T) {
	var asked [][2]int64
	r := resume("v1", func(start, n int64, _ string) (io.ReadCloser, error) {
		asked = append(asked, [2]int64{start, n})
		if len(asked) == 1 {
			return &breaking{"efg", io.ErrUnexpectedEOF}, nil
		}
		return io.NopCloser(strings.NewReader("hij")), nil
	})
	got, err := io.ReadAll(NewBody(context.Background(), &breaking{"abcd", io.ErrUnexpectedEOF}, r))
	if err != nil || string(got) != "abcdefghij" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if want := [][2]int64{{6, 6}, {9, 3}}; len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Errorf("fetches asked for %v, want %v", asked, want)
	}
}

func TestBodyBounds(t *testing.T) {
	always := func(int64, int64, string) (io.ReadCloser, error) { return &breaking{"x", io.ErrUnexpectedEOF}, nil }
	for _, tt := range []struct {
		name string
		r    Resume
		err  error
		want string
	}{
		{"attempts", resume("v1", always), io.ErrUnexpectedEOF, "reading x://b/k: the body ended after 3 of 10 bytes (3 attempts); check the network and the X endpoint"},
		{"no version", resume("", always), io.ErrUnexpectedEOF, "reading x://b/k: the body ended after 1 of 10 bytes; the server sent no ETag, so the read cannot be resumed safely"},
		{"not resumable", resume("v1", always), errors.New("bad sum"), "reading x://b/k: bad sum"},
		{"said broken", func() Resume { r := resume("v1", always); r.SayBroken = true; return r }(), errors.New("bad sum"), "reading x://b/k: the transfer broke after 1 bytes: bad sum"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(NewBody(context.Background(), &breaking{"x", tt.err}, tt.r))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestBodyReadAfterClose(t *testing.T) {
	b := NewBody(context.Background(), io.NopCloser(strings.NewReader("abc")), resume("v1", nil))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 1)); err == nil || err.Error() != "reading x://b/k: read after close" {
		t.Errorf("Read after Close: %v", err)
	}
}
