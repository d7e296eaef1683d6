package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Run with: go test ./cmd/stacksync -run '^$' -bench Scaling -benchtime 1x
// (make bench); one size: -bench 'Scaling/.*/stacks=1000$'. One op is one whole command in-process.

// scalingCheckpoints are checkpoints the real pulumi wrote (see
// pkg/state/testdata/checkpoints/MANIFEST.md), each with the extension it
// has in a backend; stacks take them in turn. A checkpoint's stack field
// is informational only, so the copies need no edit.
var scalingCheckpoints = []struct{ file, ext string }{
	{"v3.274.1-deployed.json", ".json"},
	{"v3.274.1-init-passphrase.json", ".json"},
	{"v3.274.1-gzip.json.gz", ".json.gz"},
	{"v3.274.1-zstd.json.zst", ".json.zst"},
	{"v3.224.0-init-cloud.json", ".json"},
}

// scalingBackend writes a file:// backend holding n stacks of project
// demo and a project directory for them, and returns their paths.
func scalingBackend(b *testing.B, n int) (backend, project string) {
	b.Helper()
	root := b.TempDir()
	backend, project = filepath.Join(root, "backend"), filepath.Join(root, "project")
	stacks := filepath.Join(backend, ".pulumi", "stacks", "demo")
	for _, d := range []string{stacks, project} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	data := make([][]byte, len(scalingCheckpoints))
	for i, c := range scalingCheckpoints {
		var err error
		if data[i], err = os.ReadFile(filepath.Join("..", "..", "pkg", "state", "testdata", "checkpoints", c.file)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		c := i % len(scalingCheckpoints)
		if err := os.WriteFile(filepath.Join(stacks, fmt.Sprintf("stack%05d%s", i, scalingCheckpoints[c].ext)), data[c], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for path, body := range map[string]string{
		filepath.Join(backend, ".pulumi", "meta.yaml"): "version: 1\n",
		filepath.Join(project, "Pulumi.yaml"):          "name: demo\nruntime: yaml\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return backend, project
}

// BenchmarkScaling runs restore --all and check over a file:// backend of
// 1,000, 5,000 and 10,000 stacks. Linear cost shows as a flat ns/stack.
// The settings files are written once before the timing, so each timed
// restore --all reads every checkpoint and settings file and writes none,
// and check compares them all.
func BenchmarkScaling(b *testing.B) {
	for _, n := range []int{1000, 5000, 10000} {
		// Built once per n, on first use, in the parent's temp dir so
		// both commands share it (and -bench can pick one).
		var backend, project string
		setup := func(sub *testing.B) {
			if backend != "" {
				return
			}
			backend, project = scalingBackend(b, n)
			if code := benchRun(project, "restore", "--all", "--backend", "file://"+backend); code != exitOK {
				sub.Fatalf("first restore --all: exit %d", code)
			}
		}
		for _, cmd := range [][]string{{"restore", "--all"}, {"check"}} {
			b.Run(fmt.Sprintf("%s/stacks=%d", cmd[0], n), func(b *testing.B) {
				setup(b)
				args := append(cmd[:len(cmd):len(cmd)], "--backend", "file://"+backend)
				b.ResetTimer()
				for range b.N {
					if code := benchRun(project, args...); code != exitOK {
						b.Fatalf("%v: exit %d", args, code)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/stack")
			})
		}
	}
}

// benchRun runs stacksync in-process in dir with output discarded.
func benchRun(dir string, args ...string) int {
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, home: dir, cwd: dir}
	return run(context.Background(), args, e)
}
