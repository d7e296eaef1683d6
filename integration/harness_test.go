package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stacksync/stacksync/integration/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestHarnessS3Proxy: versitygw answers put/list/get, and the recording
// proxy forwards signed requests and records exactly what went through it.
func TestHarnessS3Proxy(t *testing.T) {
	s := harness.StartS3(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", s.Endpoint)
	}
	s.CreateBucket(t, "bkt")

	src := t.TempDir()
	for name, body := range map[string]string{
		"a.txt":           "alpha",
		"sub/b.json":      `{"b":1}`,
		"sub/deep/c.yaml": "c: 3\n",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.UploadDir(t, "bkt", "team/a/", src)
	want := []string{"team/a/a.txt", "team/a/sub/b.json", "team/a/sub/deep/c.yaml"}
	if got := s.ListKeys(t, "bkt", "team/"); !slices.Equal(got, want) {
		t.Fatalf("ListKeys = %q, want %q", got, want)
	}

	// Read-only traffic through the proxy.
	proxy := harness.StartRecordingProxy(t, s.Endpoint)
	pc := s.NewClient(proxy.URL)
	list, err := pc.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("team/a/sub/")})
	if err != nil {
		t.Fatalf("list through proxy: %v", err)
	}
	if len(list.Contents) != 2 {
		t.Fatalf("list through proxy: %d objects, want 2", len(list.Contents))
	}
	obj, err := pc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("team/a/sub/b.json")})
	if err != nil {
		t.Fatalf("get through proxy: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != `{"b":1}` {
		t.Fatalf("get through proxy = %q", body)
	}
	if _, err := pc.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("team/a/a.txt")}); err != nil {
		t.Fatalf("head through proxy: %v", err)
	}
	proxy.AssertReadOnly(t)
	reqs := proxy.Requests()
	t.Logf("recorded: %v", reqs)
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3: %v", len(reqs), reqs)
	}
	if reqs[0].Method != "GET" || !strings.HasPrefix(reqs[0].URI, "/bkt?") || !strings.Contains(reqs[0].URI, "list-type=2") ||
		!strings.Contains(reqs[0].URI, "prefix=team%2Fa%2Fsub%2F") {
		t.Errorf("listing recorded as %v", reqs[0])
	}
	// The SDK adds x-id=GetObject to GETs of objects.
	if reqs[1].Method != "GET" || !strings.HasPrefix(reqs[1].URI, "/bkt/team/a/sub/b.json") {
		t.Errorf("get recorded as %v", reqs[1])
	}
	if reqs[2].Method != "HEAD" || !strings.HasPrefix(reqs[2].URI, "/bkt/team/a/a.txt") {
		t.Errorf("head recorded as %v", reqs[2])
	}

	// A write through the proxy is recorded too (so AssertReadOnly can catch it).
	proxy.Reset()
	if _, err := pc.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("w.txt"), Body: strings.NewReader("w")}); err != nil {
		t.Fatalf("put through proxy: %v", err)
	}
	if m := proxy.Methods(); !slices.Equal(m, []string{"PUT"}) {
		t.Errorf("methods after put = %v, want [PUT]", m)
	}
	if got := string(s.GetObject(t, "bkt", "w.txt")); got != "w" {
		t.Errorf("object written through proxy = %q", got)
	}
}

// TestHarnessKMS: local-kms on 127.0.0.1 encrypts and decrypts through the
// alias the harness creates.
func TestHarnessKMS(t *testing.T) {
	k := harness.StartKMS(t)
	if !strings.HasPrefix(k.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", k.Endpoint)
	}
	if k.Alias != "alias/pulumi_backend_software" || k.KeyID == "" ||
		k.KeyARN != "arn:aws:kms:"+k.Region+":"+harness.KMSAccountID+":key/"+k.KeyID {
		t.Fatalf("unexpected key: %+v", k)
	}
	plain := []byte("thirty-two bytes of data key....")
	enc, err := k.Client.Encrypt(ctx(t), &kms.EncryptInput{KeyId: aws.String(k.Alias), Plaintext: plain})
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if aws.ToString(enc.KeyId) != k.KeyARN {
		t.Errorf("encrypt used key %q, want %q", aws.ToString(enc.KeyId), k.KeyARN)
	}
	dec, err := k.Client.Decrypt(ctx(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if !bytes.Equal(dec.Plaintext, plain) {
		t.Fatalf("round trip = %q, want %q", dec.Plaintext, plain)
	}

	// Each StartKMS has its own key store, so the same alias can exist twice.
	k2 := harness.StartKMS(t)
	if k2.KeyID == k.KeyID {
		t.Errorf("second local-kms reused key %s", k.KeyID)
	}
	if _, err := k2.Client.Decrypt(ctx(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err == nil {
		t.Errorf("second local-kms decrypted the first one's ciphertext")
	}
}

// pulumiKMSStack logs pulumi into a fresh bucket, creates stack dev of
// project demo with an awskms secrets provider, sets and reads back a
// secret, and returns the bucket's checkpoint.
func pulumiKMSStack(t *testing.T, version string) (p *harness.Pulumi, s *harness.S3, dir, providerURL string, checkpoint []byte) {
	s = harness.StartS3(t)
	k := harness.StartKMS(t)
	s.CreateBucket(t, "state")

	p = harness.NewPulumi(t, version)
	p.UseKMS(k)
	dir = harness.NewYAMLProject(t, "demo", "outputs:\n  greeting: hello\n")
	providerURL = p.SecretsProviderURL(k)
	t.Logf("pulumi %s, backend %s, secrets provider %s", version, s.BackendURL("state", ""), providerURL)

	p.MustRun(dir, nil, "login", s.BackendURL("state", ""))
	p.MustRun(dir, nil, "stack", "init", "dev", "--secrets-provider="+providerURL)
	p.MustRun(dir, nil, "config", "set", "--secret", "apikey", "s3cr3t")
	if got := strings.TrimSpace(p.MustRun(dir, nil, "config", "get", "apikey")); got != "s3cr3t" {
		t.Fatalf("pulumi config get apikey = %q, want s3cr3t", got)
	}

	settings, err := os.ReadFile(filepath.Join(dir, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"secretsprovider: " + providerURL, "encryptedkey: ", "demo:apikey:", "secure: "} {
		if !strings.Contains(string(settings), want) {
			t.Errorf("Pulumi.dev.yaml lacks %q:\n%s", want, settings)
		}
	}

	keys := s.ListKeys(t, "state", "")
	t.Logf("bucket keys: %q", keys)
	if !slices.Contains(keys, ".pulumi/stacks/demo/dev.json") || !slices.Contains(keys, ".pulumi/meta.yaml") {
		t.Fatalf("bucket lacks .pulumi/stacks/demo/dev.json or meta.yaml: %q", keys)
	}
	checkpoint = s.GetObject(t, "state", ".pulumi/stacks/demo/dev.json")
	var cp struct {
		Checkpoint struct {
			Latest struct {
				SecretsProviders struct {
					Type  string `json:"type"`
					State struct {
						URL          string `json:"url"`
						EncryptedKey string `json:"encryptedkey"`
					} `json:"state"`
				} `json:"secrets_providers"`
			} `json:"latest"`
		} `json:"checkpoint"`
	}
	if err := json.Unmarshal(checkpoint, &cp); err != nil {
		t.Fatalf("checkpoint is not JSON: %v\n%s", err, checkpoint)
	}
	sp := cp.Checkpoint.Latest.SecretsProviders
	if sp.Type != "cloud" || sp.State.URL != providerURL || sp.State.EncryptedKey == "" {
		t.Errorf("checkpoint secrets_providers = %+v, want cloud %s", sp, providerURL)
	}
	if !strings.Contains(string(settings), "encryptedkey: "+sp.State.EncryptedKey) {
		t.Errorf("settings encryptedkey differs from state %q:\n%s", sp.State.EncryptedKey, settings)
	}
	return p, s, dir, providerURL, checkpoint
}

// TestHarnessPulumiS3KMS: pulumi v3.274.1 against versitygw and local-kms.
func TestHarnessPulumiS3KMS(t *testing.T) {
	p, _, _, providerURL, cp := pulumiKMSStack(t, harness.PulumiVersion)
	if strings.Contains(providerURL, "awssdk") {
		t.Errorf("%s should not need awssdk=v2: %s", p.Version, providerURL)
	}
	if !bytes.Contains(cp, []byte(`"type":"cloud"`)) {
		t.Errorf("checkpoint lacks compact \"type\":\"cloud\":\n%s", cp)
	}
	if n := bytes.Count(bytes.TrimSpace(cp), []byte("\n")); n != 0 {
		t.Errorf("%s checkpoint has %d newlines, want compact one-line JSON:\n%s", p.Version, n, cp)
	}
}

// TestHarnessPulumiOldVersion: the old release reaches local-kms only with
// &awssdk=v2, and writes an indented checkpoint.
func TestHarnessPulumiOldVersion(t *testing.T) {
	p, _, _, providerURL, cp := pulumiKMSStack(t, harness.OldPulumiVersion)
	if !p.UsesAWSSDKV1ForKMS() || !strings.HasSuffix(providerURL, "&awssdk=v2") {
		t.Errorf("%s: provider URL %s, want &awssdk=v2", p.Version, providerURL)
	}
	if !bytes.Contains(cp, []byte(`"type": "cloud"`)) || !bytes.Contains(cp, []byte("\n    \"checkpoint\": {")) {
		t.Errorf("%s checkpoint is not 4-space indented:\n%s", p.Version, cp)
	}
}

// TestHarnessPulumiUp: pulumi up runs a runtime: yaml program offline
// through pulumi-language-yaml and records its outputs in the bucket.
func TestHarnessPulumiUp(t *testing.T) {
	p, s, dir, _, _ := pulumiKMSStack(t, harness.PulumiVersion)
	p.MustRun(dir, nil, "up", "--yes", "--non-interactive", "--skip-preview")
	if got := strings.TrimSpace(p.MustRun(dir, nil, "stack", "output", "greeting")); got != "hello" {
		t.Fatalf("stack output greeting = %q, want hello", got)
	}
	cp := s.GetObject(t, "state", ".pulumi/stacks/demo/dev.json")
	for _, want := range []string{`"type":"cloud"`, `"greeting":"hello"`, `"type":"pulumi:pulumi:Stack"`} {
		if !bytes.Contains(cp, []byte(want)) {
			t.Errorf("checkpoint after up lacks %s:\n%s", want, cp)
		}
	}
	keys := s.ListKeys(t, "state", ".pulumi/")
	var history, backups bool
	for _, k := range keys {
		history = history || strings.HasPrefix(k, ".pulumi/history/demo/dev/dev-") && strings.HasSuffix(k, ".history.json")
		backups = backups || strings.HasPrefix(k, ".pulumi/backups/demo/dev/dev.")
	}
	if !history || !backups {
		t.Errorf("after up: history=%v backups=%v; keys %q", history, backups, keys)
	}
}

// TestHarnessStacksyncBuild: the stacksync binary builds from ../cmd/stacksync.
func TestHarnessStacksyncBuild(t *testing.T) {
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "stacksync")); err != nil {
		t.Fatalf("main module has no cmd/stacksync yet: %v", err)
	}
	bin := harness.BuildStacksync(t)
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("built %s: %v", bin, err)
	}
	if harness.BuildStacksync(t) != bin {
		t.Errorf("BuildStacksync built twice")
	}
}
