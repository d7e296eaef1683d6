package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// TestRestoreS3DiscoversRegion: with no region in the URL, the environment
// or an AWS config file, stacksync asks the bucket for its region (an
// unsigned HeadBucket, answered with x-amz-bucket-region) instead of
// failing, and then reads with requests signed for that region.
func TestRestoreS3DiscoversRegion(t *testing.T) {
	bin := harness.BuildStacksync(t)
	s := harness.StartS3InRegion(t, "eu-west-1")
	s.CreateBucket(t, "state")
	main, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	s.UploadDir(t, "state", "", filepath.Join(main, "examples", "backend"))
	dir := t.TempDir()
	const stack = "staging"
	src := readFile(t, filepath.Join(main, "examples", "project", "Pulumi."+stack+".yaml"))
	for name, data := range map[string][]byte{
		"Pulumi.yaml":               readFile(t, filepath.Join(main, "examples", "project", "Pulumi.yaml")),
		"Pulumi." + stack + ".yaml": src,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proxy := harness.StartRecordingProxy(t, s.Endpoint)
	env := stacksyncEnv(t, "AWS_ACCESS_KEY_ID="+s.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.SecretKey)
	for _, kv := range env {
		if strings.HasPrefix(kv, "AWS_REGION=") || strings.HasPrefix(kv, "AWS_DEFAULT_REGION=") {
			t.Fatalf("the environment names a region: %s", kv)
		}
	}
	backend := "s3://state?endpoint=" + proxy.HostPort + "&disableSSL=true&s3ForcePathStyle=true"
	o, e, code := runStacksync(t, bin, env, "restore", "-C", dir, "--backend", backend, stack)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	got := string(readFile(t, filepath.Join(dir, "Pulumi."+stack+".yaml")))
	if !strings.HasPrefix(got, "encryptionsalt: v1:") || !strings.HasSuffix(got, string(src)) {
		t.Errorf("settings file not restored:\n%s", got)
	}
	assertOnlyGetHead(t, proxy, true)
	if m := proxy.Methods(); len(m) == 0 || m[0] != "HEAD" {
		t.Errorf("first request %v, want the HEAD that finds the region", m)
	}
}
