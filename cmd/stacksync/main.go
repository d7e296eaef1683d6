// Command stacksync reads Pulumi DIY backend state (s3://, gs://, azblob://,
// postgres:// or file://) with no
// pulumi binary. It restores the secrets provider fields of stack settings
// files (Pulumi.<stack>.yaml) and audits which secrets provider each stack
// of a backend uses.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitDrift    = 3 // --check, check or --fail-on found something
	exitConflict = 4
	exitMissing  = 5 // restore: a stack the backend does not hold
	// exitInterrupted is the shell's code for a process SIGINT ended:
	// 128 + 2. stacksync exits with it on SIGINT and SIGTERM alike.
	exitInterrupted = 130
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// memoryLimit is the Go runtime's soft memory limit for a stacksync
// process (unless GOMEMLIMIT says otherwise). Everyday runs stay far below
// it; past it the collector runs more often instead of letting the heap
// double, which keeps a 50 MB settings file's edit near 120 MB of RSS
// instead of 180 MB.
const memoryLimit = 64 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops the command gracefully; a second one, with
	// the handler gone, ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], newEnv(os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool) // tells a variable set empty from unset
	home           string
	cwd            string
	// caBundle is AWS_CA_BUNDLE, which the S3 store loads lazily.
	caBundle string
}

func newEnv(stdout, stderr io.Writer) *env {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	// The AWS SDK parses the bundle AWS_CA_BUNDLE names as it loads its
	// configuration, before the first request and even for a plain-HTTP
	// endpoint: 12 ms of a restore here. stacksync takes the variable over
	// and has the S3 store read the bundle at its first TLS handshake.
	caBundle := os.Getenv("AWS_CA_BUNDLE")
	os.Unsetenv("AWS_CA_BUNDLE")
	return &env{stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv, home: home, cwd: cwd, caBundle: caBundle}
}
