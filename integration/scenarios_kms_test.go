package integration

// End-to-end scenarios for secrets providers, compression and the older
// pulumi release: real pulumi writes state into versitygw (awskms keys in
// local-kms), the settings file is lost, the built stacksync binary
// restores it, and real pulumi reads the stack's secrets again.

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// scenarioProject is the project name of every scenario stack.
const scenarioProject = "demo"

// passphraseEnv is the environment that gives pulumi passphrase pass.
func passphraseEnv(pass string) []string {
	return []string{"PULUMI_CONFIG_PASSPHRASE=" + pass}
}

// kmsRestoreScenario runs the KMS scenario with pulumi runner p on a stack
// of its own in dir: init with providerURL, a secret, the loss, the
// passphrase error, the restore, then p reads the secret back with no
// passphrase. It returns the settings file pulumi wrote at init.
func kmsRestoreScenario(t *testing.T, b *scenarioBackend, p *harness.Pulumi, dir, stack, providerURL string) []byte {
	t.Helper()
	good := initStackWithSecret(t, p, dir, stack, providerURL, nil)
	gp := settingsProvider(good)
	if gp.Type != "cloud" || gp.URL != providerURL || gp.EncryptedKey == "" {
		t.Fatalf("settings file after init: %+v, want cloud %s\n%s", gp, providerURL, good)
	}
	if _, _, info := b.liveCheckpoint(t, scenarioProject, stack); info.P.Type != "cloud" || info.P.URL != providerURL || info.P.EncryptedKey != gp.EncryptedKey {
		t.Fatalf("checkpoint secrets_providers %+v, want cloud %s with the settings file's encryptedkey", info.P, providerURL)
	}

	lost := loseSettingsFile(t, p, dir, stack, good)
	assertPassphraseRequired(t, p, dir, stack)

	b.restoreStack(t, dir, stack, "awskms "+gp.keyID())
	after := assertRestoredFile(t, settingsPath(dir, stack), good, lost)
	if sp, _ := settingsField(after, "secretsprovider"); sp != providerURL {
		t.Errorf("restored secretsprovider %q, want the stack init URL %q byte for byte", sp, providerURL)
	}
	if ek, _ := settingsField(after, "encryptedkey"); ek != gp.EncryptedKey {
		t.Errorf("restored encryptedkey %q, want %q", ek, gp.EncryptedKey)
	}
	if _, ok := settingsField(after, "encryptionsalt"); ok {
		t.Errorf("restored file has an encryptionsalt:\n%s", after)
	}
	assertSecretsWork(t, p, dir, stack, nil, "x")
	return good
}

// TestScenarioAWSKMSURLForms: each awskms URL form (alias, key id, and the
// triple-slash key ARN) survives the loss and the restore byte for byte.
func TestScenarioAWSKMSURLForms(t *testing.T) {
	b := newScenarioBackend(t)
	k := b.KMS
	forms := []struct {
		name, stack, provider, url, keyID string
	}{
		{"alias", "alias", "awskms alias", "awskms://" + k.Alias + "?region=" + k.Region, k.Alias},
		{"key-id", "keyid", "awskms key id", "awskms://" + k.KeyID + "?region=" + k.Region, k.KeyID},
		{"arn", "arn", "awskms ARN", "awskms:///" + k.KeyARN + "?region=" + k.Region, k.KeyARN},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: f.provider, Compression: "none", Layout: "project", Backend: "s3"})
			if f.name == "arn" && !strings.HasPrefix(f.url, "awskms:///arn:aws:kms:us-east-1:111122223333:key/") {
				t.Fatalf("ARN URL %s is not the triple-slash form", f.url)
			}
			dir := harness.NewYAMLProject(t, scenarioProject, "")
			p := b.newPulumi(t, harness.PulumiVersion, dir)
			good := kmsRestoreScenario(t, b, p, dir, f.stack, f.url)
			if id := settingsProvider(good).keyID(); id != f.keyID {
				t.Errorf("key id of %s = %q, want %q", f.url, id, f.keyID)
			}
		})
	}
}

// TestScenarioPassphraseSalt: a passphrase stack gets its original salt
// back, so the original passphrase decrypts the secret and a wrong one
// does not.
func TestScenarioPassphraseSalt(t *testing.T) {
	harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: "passphrase", Compression: "none", Layout: "project", Backend: "s3"})
	b := newScenarioBackend(t)
	dir := harness.NewYAMLProject(t, scenarioProject, "")
	p := b.newPulumi(t, harness.PulumiVersion, dir)
	passphraseRestoreScenario(t, b, p, dir, "dev")
}

// passphraseRestoreScenario runs the passphrase scenario with runner p on a
// stack of its own in dir.
func passphraseRestoreScenario(t *testing.T, b *scenarioBackend, p *harness.Pulumi, dir, stack string) []byte {
	t.Helper()
	p1 := passphraseEnv("p1")
	good := initStackWithSecret(t, p, dir, stack, "passphrase", p1)
	gp := settingsProvider(good)
	if gp.Type != "passphrase" || gp.URL != "" || gp.EncryptedKey != "" || !strings.HasPrefix(gp.Salt, "v1:") {
		t.Fatalf("pulumi %s settings file after init: %+v\n%s", p.Version, gp, good)
	}
	if _, _, info := b.liveCheckpoint(t, scenarioProject, stack); info.P.Type != "passphrase" || info.P.Salt != gp.Salt {
		t.Fatalf("checkpoint secrets_providers %+v, want passphrase with the settings file's salt %s", info.P, gp.Salt)
	}

	lost := loseSettingsFile(t, p, dir, stack, good)
	assertPassphraseRequired(t, p, dir, stack)

	b.restoreStack(t, dir, stack, "passphrase")
	after := assertRestoredFile(t, settingsPath(dir, stack), good, lost)
	if salt, _ := settingsField(after, "encryptionsalt"); salt != gp.Salt {
		t.Errorf("restored encryptionsalt %q, want the original %q", salt, gp.Salt)
	}
	for _, k := range []string{"secretsprovider", "encryptedkey"} {
		if _, ok := settingsField(after, k); ok {
			t.Errorf("restored passphrase file has %s:\n%s", k, after)
		}
	}

	// A wrong passphrase must not decrypt: the salt is the original one,
	// not a new one pulumi would accept any passphrase for.
	_, e, err := p.Run(dir, passphraseEnv("wrong-passphrase"), "config", "get", scenarioSecretKey)
	t.Logf("pulumi %s config get with a wrong passphrase: %v: %s", p.Version, err, strings.TrimSpace(e))
	if err == nil {
		t.Errorf("pulumi %s config get %s with a wrong passphrase succeeded", p.Version, scenarioSecretKey)
	} else if !strings.Contains(e, "incorrect passphrase") {
		t.Errorf("pulumi %s config get with a wrong passphrase: %v, stderr lacks \"incorrect passphrase\":\n%s", p.Version, err, e)
	}
	if now := readFile(t, settingsPath(dir, stack)); !bytes.Equal(now, after) {
		t.Errorf("the failing config get changed the settings file:\n%s", now)
	}
	assertSecretsWork(t, p, dir, stack, p1, "x")
	return good
}

// TestScenarioCompression: checkpoints pulumi wrote gzip- and
// zstd-compressed, and one whose compression changed between writes.
func TestScenarioCompression(t *testing.T) {
	b := newScenarioBackend(t)
	providerURL := b.KMS.SecretsProviderURL(false)
	describe := "awskms " + b.KMS.Alias

	for _, c := range []struct {
		name, env, ext string
		magic          []byte
	}{
		{"gzip", "PULUMI_DIY_BACKEND_GZIP", ".gz", []byte{0x1f, 0x8b, 0x08}},
		{"zstd", "PULUMI_DIY_BACKEND_ZSTD", ".zst", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	} {
		t.Run(c.name, func(t *testing.T) {
			harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: "awskms alias", Compression: c.name, Layout: "project", Backend: "s3"})
			dir := harness.NewYAMLProject(t, scenarioProject, "")
			p := b.newPulumi(t, harness.PulumiVersion, dir)
			p.Setenv(c.env, "true")
			stack := c.name
			good := initStackWithSecret(t, p, dir, stack, providerURL, nil)

			keys := b.stackObjectKeys(t, scenarioProject, stack)
			t.Logf("keys after init: %q", keys)
			if !slices.Contains(keys, stack+".json"+c.ext) || slices.Contains(keys, stack+".json") {
				t.Fatalf("with %s=true the bucket holds %q, want %s.json%s and no plain %s.json", c.env, keys, stack, c.ext, stack)
			}
			raw := b.S3.GetObject(t, b.Bucket, stackKey(scenarioProject, stack, c.ext))
			if !bytes.HasPrefix(raw, c.magic) {
				t.Fatalf("%s.json%s starts with % x, want the %s magic % x", stack, c.ext, raw[:min(8, len(raw))], c.name, c.magic)
			}
			if info := decodeCheckpoint(t, raw); info.Compression != c.name || info.P.URL != providerURL {
				t.Fatalf("decoded %s.json%s: %+v", stack, c.ext, info)
			}

			lost := loseSettingsFile(t, p, dir, stack, good)
			assertPassphraseRequired(t, p, dir, stack)
			b.restoreStack(t, dir, stack, describe)
			assertRestoredFile(t, settingsPath(dir, stack), good, lost)
			assertSecretsWork(t, p, dir, stack, nil, "x")
		})
	}

	t.Run("none-to-zstd", func(t *testing.T) {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: "awskms alias", Compression: "none→zstd", Layout: "project", Backend: "s3"})
		dir := harness.NewYAMLProject(t, scenarioProject, "outputs:\n  greeting: hello\n")
		p := b.newPulumi(t, harness.PulumiVersion, dir)
		stack := "switched"
		good := initStackWithSecret(t, p, dir, stack, providerURL, nil)
		if keys := b.stackObjectKeys(t, scenarioProject, stack); !slices.Contains(keys, stack+".json") {
			t.Fatalf("after a plain init the bucket holds %q, want %s.json", keys, stack)
		}

		p.MustRun(dir, []string{"PULUMI_DIY_BACKEND_ZSTD=true"}, "up", "--yes", "--non-interactive", "--skip-preview")
		keys := b.stackObjectKeys(t, scenarioProject, stack)
		t.Logf("keys after up with PULUMI_DIY_BACKEND_ZSTD=true: %q", keys)
		// Spec §1.6: the old variant is copied to .bak and deleted once the
		// new one is written.
		for _, want := range []string{stack + ".json.zst", stack + ".json.bak"} {
			if !slices.Contains(keys, want) {
				t.Errorf("after the switch the bucket lacks %s: %q", want, keys)
			}
		}
		for _, gone := range []string{stack + ".json", stack + ".json.gz"} {
			if slices.Contains(keys, gone) {
				t.Errorf("after the switch the bucket still holds %s: %q", gone, keys)
			}
		}
		key, raw, info := b.liveCheckpoint(t, scenarioProject, stack)
		if key != stackKey(scenarioProject, stack, ".zst") || !bytes.HasPrefix(raw, []byte{0x28, 0xb5, 0x2f, 0xfd}) || info.P.URL != providerURL {
			t.Fatalf("live checkpoint %s: %+v", key, info)
		}
		if !bytes.Contains(b.S3.GetObject(t, b.Bucket, stackKey(scenarioProject, stack, ".bak")), []byte(`"type":"cloud"`)) {
			t.Errorf("%s.json.bak is not the plain checkpoint", stack)
		}

		lost := loseSettingsFile(t, p, dir, stack, good)
		assertPassphraseRequired(t, p, dir, stack)
		b.restoreStack(t, dir, stack, describe)
		assertRestoredFile(t, settingsPath(dir, stack), good, lost)
		assertSecretsWork(t, p, dir, stack, nil, "x")
		if got := strings.TrimSpace(p.MustRun(dir, nil, "stack", "output", "greeting")); got != "hello" {
			t.Errorf("stack output greeting = %q, want hello", got)
		}
	})
}

// TestScenarioOldPulumi: pulumi v3.224.0 writes the state (indented
// checkpoints, & escaped as \u0026), stacksync restores the settings file,
// and both v3.224.0 and v3.274.1 read the secrets from it.
func TestScenarioOldPulumi(t *testing.T) {
	b := newScenarioBackend(t)

	t.Run("awskms", func(t *testing.T) {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.OldPulumiVersion, Provider: "awskms alias", Compression: "none", Layout: "project", Backend: "s3"})
		dir := harness.NewYAMLProject(t, scenarioProject, "")
		old := b.newPulumi(t, harness.OldPulumiVersion, dir)
		providerURL := old.SecretsProviderURL(b.KMS)
		if providerURL != "awskms://alias/pulumi_backend_software?region=us-east-1&awssdk=v2" {
			t.Fatalf("provider URL for %s = %s, want the alias with &awssdk=v2", old.Version, providerURL)
		}
		stack := "oldkms"

		good := initStackWithSecret(t, old, dir, stack, providerURL, nil)
		_, raw, info := b.liveCheckpoint(t, scenarioProject, stack)
		if info.Lines < 2 || !bytes.Contains(raw, []byte("\n    \"checkpoint\": {")) {
			t.Errorf("%s checkpoint is not 4-space indented:\n%s", old.Version, raw)
		}
		if !info.Escaped || !bytes.Contains(raw, []byte(`?region=us-east-1\u0026awssdk=v2"`)) {
			t.Errorf("%s checkpoint does not store & as \\u0026:\n%s", old.Version, raw)
		}

		lost := loseSettingsFile(t, old, dir, stack, good)
		assertPassphraseRequired(t, old, dir, stack)
		b.restoreStack(t, dir, stack, "awskms "+b.KMS.Alias)
		after := assertRestoredFile(t, settingsPath(dir, stack), good, lost)
		if sp, _ := settingsField(after, "secretsprovider"); sp != providerURL {
			t.Errorf("restored secretsprovider %q, want %q byte for byte", sp, providerURL)
		}

		// The old release reads its own restored file.
		assertSecretsWork(t, old, dir, stack, nil, "x")
		// The current release reads it too, with no passphrase.
		cur := b.newPulumi(t, harness.PulumiVersion, dir)
		cur.MustRun(dir, nil, "stack", "select", stack)
		assertConfigGet(t, cur, dir, nil, "x", "y")
		assertSecretsWork(t, cur, dir, stack, nil, "z")
	})

	// zstd arrived in v3.224.0 (spec §0.5): the oldest release that can
	// write .json.zst, with its indented JSON inside the frame.
	t.Run("awskms-zstd", func(t *testing.T) {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.OldPulumiVersion, Provider: "awskms alias", Compression: "zstd", Layout: "project", Backend: "s3"})
		dir := harness.NewYAMLProject(t, scenarioProject, "")
		old := b.newPulumi(t, harness.OldPulumiVersion, dir)
		old.Setenv("PULUMI_DIY_BACKEND_ZSTD", "true")
		providerURL := old.SecretsProviderURL(b.KMS)
		stack := "oldzstd"
		good := initStackWithSecret(t, old, dir, stack, providerURL, nil)
		key, raw, info := b.liveCheckpoint(t, scenarioProject, stack)
		if key != stackKey(scenarioProject, stack, ".zst") || !bytes.HasPrefix(raw, []byte{0x28, 0xb5, 0x2f, 0xfd}) || info.P.URL != providerURL {
			t.Fatalf("%s with PULUMI_DIY_BACKEND_ZSTD=true wrote %s: %+v", old.Version, key, info)
		}
		lost := loseSettingsFile(t, old, dir, stack, good)
		assertPassphraseRequired(t, old, dir, stack)
		b.restoreStack(t, dir, stack, "awskms "+b.KMS.Alias)
		assertRestoredFile(t, settingsPath(dir, stack), good, lost)
		cur := b.newPulumi(t, harness.PulumiVersion, dir)
		cur.MustRun(dir, nil, "stack", "select", stack)
		assertSecretsWork(t, cur, dir, stack, nil, "z")
	})

	t.Run("passphrase", func(t *testing.T) {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.OldPulumiVersion, Provider: "passphrase", Compression: "none", Layout: "project", Backend: "s3"})
		dir := harness.NewYAMLProject(t, scenarioProject, "")
		old := b.newPulumi(t, harness.OldPulumiVersion, dir)
		stack := "oldpass"
		// Runs the old release through the loss, the restore, the wrong
		// passphrase and its own read-back.
		passphraseRestoreScenario(t, b, old, dir, stack)
		if _, raw, info := b.liveCheckpoint(t, scenarioProject, stack); info.Lines < 2 {
			t.Errorf("%s checkpoint is not indented:\n%s", old.Version, raw)
		}

		cur := b.newPulumi(t, harness.PulumiVersion, dir)
		cur.MustRun(dir, nil, "stack", "select", stack)
		p1 := passphraseEnv("p1")
		assertConfigGet(t, cur, dir, p1, "x", "y")
		assertSecretsWork(t, cur, dir, stack, p1, "z")
		if _, e, err := cur.Run(dir, passphraseEnv("wrong-passphrase"), "config", "get", scenarioSecretKey); err == nil || !strings.Contains(e, "incorrect passphrase") {
			t.Errorf("pulumi %s config get with a wrong passphrase: err %v, want \"incorrect passphrase\"; stderr:\n%s", cur.Version, err, e)
		}
	})
}
