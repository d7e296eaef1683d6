package integration

// End-to-end: a stack whose live checkpoint records no secrets provider is
// restored from the newest .pulumi/backups checkpoint that records one,
// and restore --check exits 3 before the restore and 0 after it.

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// withoutProvider returns checkpoint (uncompressed JSON) with
// checkpoint.latest.secrets_providers removed, the shape of a checkpoint
// that records no provider (spec §5: a stack created by a pulumi from
// before September 2024 and never deployed, or a hand edit).
func withoutProvider(t *testing.T, checkpoint []byte) []byte {
	t.Helper()
	var top, cp, latest map[string]json.RawMessage
	if err := json.Unmarshal(checkpoint, &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(top["checkpoint"], &cp); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cp["latest"], &latest); err != nil {
		t.Fatal(err)
	}
	if _, ok := latest["secrets_providers"]; !ok {
		t.Fatalf("checkpoint has no secrets_providers to remove:\n%s", checkpoint)
	}
	delete(latest, "secrets_providers")
	var err error
	if cp["latest"], err = json.Marshal(latest); err != nil {
		t.Fatal(err)
	}
	if top["checkpoint"], err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScenarioBackupFallbackAndCheck(t *testing.T) {
	harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: "awskms alias", Compression: "none", Layout: "project", Backend: "s3"})
	b := newScenarioBackend(t)
	dir := harness.NewYAMLProject(t, scenarioProject, "outputs:\n  greeting: hello\n")
	p := b.newPulumi(t, harness.PulumiVersion, dir)
	providerURL := "awskms://" + b.KMS.Alias + "?region=" + b.KMS.Region
	good := initStackWithSecret(t, p, dir, "dev", providerURL, nil)
	// A real update: pulumi writes a timestamped backup of the stack.
	p.MustRun(dir, nil, "up", "--yes", "--non-interactive", "--skip-preview")
	backups := b.S3.ListKeys(t, b.Bucket, ".pulumi/backups/"+scenarioProject+"/dev/")
	if len(backups) == 0 {
		t.Fatalf("pulumi up wrote no backup; bucket: %q", b.S3.ListKeys(t, b.Bucket, ".pulumi/"))
	}
	key, raw, info := b.liveCheckpoint(t, scenarioProject, "dev")
	if info.P.Type != "cloud" || key != stackKey(scenarioProject, "dev", "") {
		t.Fatalf("live checkpoint %s records %+v, want an uncompressed cloud checkpoint", key, info.P)
	}
	// The live checkpoint stops recording the provider; the backups
	// pulumi wrote still do.
	b.S3.PutObject(t, b.Bucket, key, withoutProvider(t, raw))

	lost := loseSettingsFile(t, p, dir, "dev", good)
	env := stacksyncEnv(t, b.S3.Env()...)
	args := []string{"restore", "-C", dir, "--backend", b.URL(), "dev"}

	// --check: exit 3, the line says what would be done, nothing written.
	o, e, code := runStacksync(t, b.Bin, env, append(args, "--check")...)
	if code != 3 {
		t.Errorf("restore --check before the restore: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	if !strings.HasPrefix(o, "dev: would be updated Pulumi.dev.yaml (awskms "+b.KMS.Alias+", from backup s3://"+b.Bucket+"/.pulumi/backups/") {
		t.Errorf("restore --check stdout:\n%s", o)
	}
	if got := readFile(t, settingsPath(dir, "dev")); !bytes.Equal(got, lost) {
		t.Errorf("restore --check changed the settings file:\n%s", got)
	}

	// The restore takes the provider from the newest backup.
	_, o = restoreThroughProxy(t, b.Bin, b.S3, b.Bucket, "", dir, "dev")
	if !strings.HasPrefix(o, "dev: updated Pulumi.dev.yaml (awskms "+b.KMS.Alias+", from backup s3://"+b.Bucket+"/.pulumi/backups/"+scenarioProject+"/dev/dev.") {
		t.Errorf("restore stdout does not name the backup:\n%s", o)
	}
	assertRestoredFile(t, settingsPath(dir, "dev"), good, lost)

	// --check after the restore: exit 0, up to date.
	o, e, code = runStacksync(t, b.Bin, env, append(args, "--check")...)
	if code != 0 || !strings.HasPrefix(o, "dev: up to date Pulumi.dev.yaml") {
		t.Errorf("restore --check after the restore: exit %d, want 0 and up to date\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	assertSecretsWork(t, p, dir, "dev", nil, "x")
}
