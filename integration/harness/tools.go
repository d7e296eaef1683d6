// Package harness starts the real programs the stacksync end-to-end tests
// run against: a versitygw S3 gateway, fake-gcs-server, Azurite and
// PostgreSQL for the other DIY backends, an in-process local-kms, the pulumi
// CLI (several versions, built from source) with pulumi-language-yaml, and
// the stacksync binary itself. Nothing here is a mock.
//
// The external programs are installed by integration/scripts/tools.sh into
// ${STACKSYNC_CACHE:-$HOME/.cache/stacksync} (PostgreSQL from the system's
// packages). A missing tool fails the test; it never skips it.
package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// Versions installed by integration/scripts/tools.sh. Keep them in sync.
const (
	// PulumiVersion is the pulumi release the spec describes.
	PulumiVersion = "v3.274.1"
	// OldPulumiVersion is an older release that still writes indented
	// (non-compact) checkpoints and talks to KMS through AWS SDK v1.
	OldPulumiVersion = "v3.224.0"
	// VersitygwVersion is the S3 gateway release.
	VersitygwVersion = "v1.8.0"
	// LanguageYAMLVersion is the pulumi-language-yaml release.
	LanguageYAMLVersion = "v1.25.0"
	// FakeGCSVersion is the fake-gcs-server release (a GCS JSON and XML
	// API server) that stands in for gs:// buckets.
	FakeGCSVersion = "v1.56.1"
	// AzuriteVersion is the Azurite release (Azure Storage emulator, from
	// npm) that stands in for azblob:// containers. Later releases need
	// Node 21 or newer.
	AzuriteVersion = "3.35.0"
)

const installHint = "run integration/scripts/tools.sh"

// CacheDir is where tools.sh installs everything:
// $STACKSYNC_CACHE, or else $HOME/.cache/stacksync.
func CacheDir() string {
	if d := os.Getenv("STACKSYNC_CACHE"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "stacksync")
}

// Tools holds the paths of the installed external programs.
type Tools struct {
	CacheDir     string // root of the cache
	BinDir       string // <cache>/bin: versitygw, pulumi-language-yaml
	Versitygw    string // <cache>/bin/versitygw
	LanguageYAML string // <cache>/bin/pulumi-language-yaml
}

// FindTools locates versitygw and pulumi-language-yaml in the cache and
// fails the test if either is missing.
func FindTools(t testing.TB) Tools {
	t.Helper()
	cache := CacheDir()
	bin := filepath.Join(cache, "bin")
	tl := Tools{
		CacheDir:     cache,
		BinDir:       bin,
		Versitygw:    filepath.Join(bin, "versitygw"),
		LanguageYAML: filepath.Join(bin, "pulumi-language-yaml"),
	}
	mustExec(t, tl.Versitygw)
	mustExec(t, tl.LanguageYAML)
	return tl
}

// PulumiPath is the path of the pulumi CLI at version (e.g. "v3.274.1"),
// as built by scripts/build-pulumi.sh. It fails the test if it is missing.
func (tl Tools) PulumiPath(t testing.TB, version string) string {
	t.Helper()
	p := filepath.Join(tl.CacheDir, "pulumi", version, "bin", "pulumi")
	mustExec(t, p)
	return p
}

func mustExec(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("harness: required tool %s is missing (%v); %s", path, err, installHint)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("harness: required tool %s is not an executable file; %s", path, installHint)
	}
}

// FakeGCSPath is the path of fake-gcs-server in the cache. It fails the
// test if it is missing.
func (tl Tools) FakeGCSPath(t testing.TB) string {
	t.Helper()
	p := filepath.Join(tl.BinDir, "fake-gcs-server")
	mustExec(t, p)
	return p
}

// AzuriteBlobPath is the path of Azurite's blob-only server, azurite-blob,
// as npm installed it under <cache>/azurite/<AzuriteVersion>. It fails the
// test if it is missing.
func (tl Tools) AzuriteBlobPath(t testing.TB) string {
	t.Helper()
	p := filepath.Join(tl.CacheDir, "azurite", AzuriteVersion, "node_modules", ".bin", "azurite-blob")
	mustExec(t, p)
	return p
}
