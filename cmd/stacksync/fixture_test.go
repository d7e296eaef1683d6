package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

const (
	kmsURL = "awskms://alias/pulumi_backend_software?region=us-west-2"
	kmsKey = "AQICAHjQyYllIFIL+lJwhAqA/TQKZ3jmdGF2HmcqJQ5vkG4uWAEcBPrCua2Z1i4oP8JTGgktAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMnhBH6/o6orkQVF7rAgEQgDsnHSe9gjecN5kx+JCVXtqalGLVqVsHsOLDWepfoS+UpfrJc28qpYcRPyX7gOqaj5O/8ZHCayGtntj6VQ=="
	salt   = "v1:x1nOvBvBNdY=:v1:b+kgJAsOIAMDCrOy:gjZBW+D1Ugs3p81yZGXQFnHp+5pGsw=="
)

// cloudCheckpoint is the checkpoint of stack demo/<stack>, whose
// provider is kmsURL with the data key kmsKey.
func cloudCheckpoint(stack string) string {
	return auditCloudCheckpoint(stack, kmsURL, kmsKey)
}

// passphraseCheckpoint is the checkpoint of stack demo/<stack>, whose
// provider is a passphrase with salt.
func passphraseCheckpoint(stack string) string {
	return string(storetest.Checkpoint{Version: 3, Stack: "organization/demo/" + stack, Provider: storetest.Passphrase(salt)}.Build())
}

// fixture lays out a file:// backend and a project directory in a temp dir.
type fixture struct {
	root, backend, project string
}

func newFixture(t *testing.T, objects map[string]string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{root: root, backend: filepath.Join(root, "backend"), project: filepath.Join(root, "project")}
	objects = maps.Clone(objects)
	objects[".pulumi/meta.yaml"] = "version: 1\n"
	for k, v := range objects {
		write(t, filepath.Join(f.backend, k), v)
	}
	write(t, filepath.Join(f.project, "Pulumi.yaml"), "name: demo\nruntime: yaml\n")
	return f
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, home: f.root, cwd: f.project}
	full := append([]string{}, args...)
	if len(args) > 0 && args[0] == "restore" {
		full = append(full, "--backend", "file://"+f.backend)
	}
	code = run(context.Background(), full, e)
	return code, out.String(), errb.String()
}

func (f *fixture) settings(t *testing.T, stack string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.project, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
