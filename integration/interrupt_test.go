package integration

// A real SIGINT or SIGTERM to the built stacksync binary during
// restore --all: one line, exit 130, and the settings files either
// restored in full or untouched.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// interruptStacks is large enough that restore --all is still running
// when the first settings file appears.
const interruptStacks = 3000

var interruptedLine = regexp.MustCompile(`^stacksync: interrupted: (\d+) of (\d+) stacks done\n$`)

func TestInterruptRestoreAll(t *testing.T) {
	bin := harness.BuildStacksync(t)
	cp := auditFixture(t, "v3.274.1-init-cloud.json")
	root := t.TempDir()
	backend := filepath.Join(root, "backend")
	stacks := filepath.Join(backend, ".pulumi", "stacks", "demo")
	if err := os.MkdirAll(stacks, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(backend, ".pulumi", "meta.yaml"), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range interruptStacks {
		if err := os.WriteFile(filepath.Join(stacks, fmt.Sprintf("s%04d.json", i)), cp, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := harness.NewYAMLProject(t, "demo", "")
			cmd := exec.Command(bin, "restore", "--all", "-C", dir, "--backend", "file://"+backend)
			cmd.Env = stacksyncEnv(t)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the first stack is done.
			deadline := time.Now().Add(time.Minute)
			for {
				if m, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml")); len(m) > 0 {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("no settings file after a minute; stderr %s", e.String())
				}
				time.Sleep(time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err := cmd.Wait()
			took := time.Since(start)
			if code := harness.ExitCode(err); code != 130 {
				t.Errorf("exit %d (%v), want 130; stderr %.500q", code, err, e.String())
			}
			if took > 5*time.Second {
				t.Errorf("took %v to stop after %v", took, sig)
			}
			m := interruptedLine.FindStringSubmatch(e.String())
			if m == nil {
				t.Fatalf("stderr %.500q, want only the line 'stacksync: interrupted: N of %d stacks done'", e.String(), interruptStacks)
			}
			done, _ := strconv.Atoi(m[1])
			if total, _ := strconv.Atoi(m[2]); total != interruptStacks || done < 1 || done >= interruptStacks {
				t.Errorf("%s of %s stacks done; want between 1 and %d of %d", m[1], m[2], interruptStacks-1, interruptStacks)
			}
			// Each stack done has its line and its whole file; no other
			// file exists.
			if lines := bytes.Count(o.Bytes(), []byte("\n")); lines != done {
				t.Errorf("%d lines on stdout, want %d", lines, done)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
			if len(files) != done {
				t.Errorf("%d settings files, want %d", len(files), done)
			}
			want := "secretsprovider: awskms://alias/pulumi_backend_software?region=us-east-1\nencryptedkey: "
			for _, f := range files {
				b := readFile(t, f)
				if !bytes.HasPrefix(b, []byte(want)) || !bytes.HasSuffix(b, []byte("\n")) || bytes.Count(b, []byte("\n")) != 2 {
					t.Errorf("%s is not a whole restored file: %q", f, b)
				}
			}
		})
	}
}
