package s3store

import (
	"testing"
	"time"
)

// TestOptionsDefaults pins the documented defaults and the hang bound they
// give.
func TestOptionsDefaults(t *testing.T) {
	got := Options{}.withDefaults()
	want := Options{
		ConnectTimeout: 10 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, IdleBodyTimeout: 20 * time.Second,
		MaxAttempts: 3, MaxBackoff: 5 * time.Second,
		MinBodyRate: 1024, MaxRedirects: 10, CredentialProcessTimeout: time.Minute,
	}
	if got != want {
		t.Errorf("Options{}.withDefaults() = %+v, want %+v", got, want)
	}
	if b := got.hangBound(); b != 30*time.Second+150*time.Millisecond {
		t.Errorf("hangBound() = %s, want 30.15s", b)
	}
	if b := (Options{ResponseHeaderTimeout: time.Second, MaxAttempts: 1}).hangBound(); b != time.Second {
		t.Errorf("hangBound(1 attempt of 1s) = %s", b)
	}
}
