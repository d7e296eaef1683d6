package integration

// End-to-end tests of `stacksync verify`: for each way a stack's secrets
// can fail to open (a KMS key disabled, pending deletion, a data key from
// another KMS, a wrong, missing or file-borne passphrase) and for the
// healthy ones, verify's verdict must be the real pulumi's outcome:
// verify passes exactly when `pulumi config get` and `pulumi preview`
// decrypt. No output may hold a plaintext data key, a passphrase or a
// derived key.

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/stacksync/stacksync/integration/harness"
)

// verifyJSON is one object of `stacksync verify -o json`.
type verifyJSON struct {
	Stack        string     `json:"stack"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason"`
	Message      string     `json:"message"`
	Principal    string     `json:"principal"`
	KeyARN       string     `json:"key_arn"`
	KeyState     string     `json:"key_state"`
	DeletionDate *time.Time `json:"deletion_date"`
}

// noSTS points STS at a closed loopback port: the harness has no STS, and
// a denial must still be reported (with the principal unknown) quickly.
const noSTS = "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1"

// verifyStack runs `stacksync verify -o json` for one stack and returns
// its verdict, the exit code and both outputs.
func verifyStack(t *testing.T, bin string, env []string, dir, backend, stack string) (verifyJSON, int, string) {
	t.Helper()
	o, e, code := runStacksync(t, bin, env, "verify", "-C", dir, "--backend", backend, "-o", "json", stack)
	var out []verifyJSON
	if err := json.Unmarshal([]byte(o), &out); err != nil || len(out) != 1 {
		t.Fatalf("stacksync verify %s: exit %d, stdout not one JSON verdict (%v):\n%s\nstderr:\n%s", stack, code, err, o, e)
	}
	t.Logf("stacksync verify %s: exit %d: %s (%s): %s", stack, code, out[0].Status, out[0].Reason, out[0].Message)
	return out[0], code, o + e
}

// pulumiDecrypts runs `pulumi config get apikey` and `pulumi preview` on
// stack and reports whether each succeeded (config get also printing the
// secret).
func pulumiDecrypts(t *testing.T, p *harness.Pulumi, dir string, env []string, stack string) (configGet, preview bool) {
	t.Helper()
	o, e, err := p.Run(dir, env, "config", "get", scenarioSecretKey, "-s", stack)
	configGet = err == nil && strings.TrimSpace(o) == scenarioSecretValue
	t.Logf("pulumi config get %s -s %s: ok=%v %v %s", scenarioSecretKey, stack, configGet, err, lastLine(e))
	_, e, err = p.Run(dir, env, "preview", "--non-interactive", "-s", stack)
	preview = err == nil
	t.Logf("pulumi preview -s %s: ok=%v %v %s", stack, preview, err, lastLine(e))
	return configGet, preview
}

// assertNoSecret fails when out holds any of the secrets, in any of the
// forms given (raw, base64, hex).
func assertNoSecret(t *testing.T, what, out string, secrets map[string]string) {
	t.Helper()
	for name, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("%s: output holds the %s:\n%s", what, name, out)
		}
	}
}

// dataKeyForms returns the plaintext data key of a settings file's
// encryptedkey, decrypted with k, in the forms a leak would take.
func dataKeyForms(t *testing.T, k *harness.KMS, encryptedKey string) map[string]string {
	t.Helper()
	blob, err := base64.StdEncoding.DecodeString(encryptedKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	if err != nil {
		t.Fatalf("decrypting the data key with local-kms: %v", err)
	}
	if len(out.Plaintext) != 32 {
		t.Fatalf("data key is %d bytes", len(out.Plaintext))
	}
	return map[string]string{
		"data key (base64)":     base64.StdEncoding.EncodeToString(out.Plaintext),
		"data key (raw base64)": base64.RawStdEncoding.EncodeToString(out.Plaintext),
		"data key (hex)":        hex.EncodeToString(out.Plaintext),
		"data key (raw)":        string(out.Plaintext),
	}
}

// TestVerifyKMSAgreesWithPulumi: stacks on a healthy key, a key disabled
// with DisableKey, a key scheduled for deletion, an alias moved to another
// key after the data key was made (the ciphertext is another key's, which
// Decrypt still opens), and a data key made by another KMS altogether. For
// each, verify's verdict is the real pulumi's.
func TestVerifyKMSAgreesWithPulumi(t *testing.T) {
	b := newScenarioBackend(t)
	k := b.KMS
	dir := harness.NewYAMLProject(t, scenarioProject, "")
	p := b.newPulumi(t, harness.PulumiVersion, dir)
	ctx := context.Background()

	disabledID, _ := k.CreateKey(t, "alias/verify-disabled")
	pendingID, _ := k.CreateKey(t, "alias/verify-pending")
	k.CreateKey(t, "alias/verify-moved")
	otherID, _ := k.CreateKey(t, "")
	// A second local-kms, another account's KMS for this job: its keys
	// are unknown to k, though it has an alias of the same name.
	k2 := harness.StartKMS(t)
	p2 := b.newPulumi(t, harness.PulumiVersion, dir)
	p2.UseKMS(k2)

	url := func(alias string) string { return "awskms://" + alias + "?region=" + k.Region }
	cases := []struct {
		stack, url string
		init       *harness.Pulumi
		kms        *harness.KMS
		wantStatus string
		wantReason string
		wantState  string
	}{
		{"healthy", url(k.Alias), p, k, "ok", "decrypted", ""},
		{"disabled", url("alias/verify-disabled"), p, k, "fail", "key-disabled", "Disabled"},
		{"pending", url("alias/verify-pending"), p, k, "fail", "key-pending-deletion", "PendingDeletion"},
		{"moved", url("alias/verify-moved"), p, k, "ok", "decrypted", ""},
		{"foreign", url(k.Alias), p2, k2, "fail", "access-denied", "Enabled"},
	}
	secrets := map[string]map[string]string{}
	for _, c := range cases {
		good := initStackWithSecret(t, c.init, dir, c.stack, c.url, nil)
		secrets[c.stack] = dataKeyForms(t, c.kms, settingsProvider(good).EncryptedKey)
	}
	// Break the keys after pulumi made the data keys.
	if _, err := k.Client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabledID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(pendingID), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/verify-moved"), TargetKeyId: aws.String(otherID)}); err != nil {
		t.Fatal(err)
	}

	env := stacksyncEnv(t, append(append(b.S3.Env(), k.Env()...), noSTS)...)
	for _, c := range cases {
		t.Run(c.stack, func(t *testing.T) {
			start := time.Now()
			v, code, out := verifyStack(t, b.Bin, env, dir, b.URL(), c.stack)
			took := time.Since(start)
			if v.Status != c.wantStatus || v.Reason != c.wantReason {
				t.Errorf("verify %s: %s (%s), want %s (%s): %s", c.stack, v.Status, v.Reason, c.wantStatus, c.wantReason, v.Message)
			}
			if v.KeyState != c.wantState {
				t.Errorf("verify %s: key_state %q, want %q", c.stack, v.KeyState, c.wantState)
			}
			wantCode := map[string]int{"ok": 0, "fail": 3}[c.wantStatus]
			if code != wantCode {
				t.Errorf("verify %s: exit %d, want %d", c.stack, code, wantCode)
			}
			if c.stack == "pending" {
				if v.DeletionDate == nil || v.DeletionDate.Before(time.Now().Add(6*24*time.Hour)) || v.DeletionDate.After(time.Now().Add(8*24*time.Hour)) {
					t.Errorf("verify pending: deletion_date %v, want in 7 days", v.DeletionDate)
				} else if !strings.Contains(v.Message, v.DeletionDate.UTC().Format(time.RFC3339)) {
					t.Errorf("verify pending: message does not name the date %s: %s", v.DeletionDate, v.Message)
				}
			}
			if c.stack == "foreign" && (!strings.Contains(v.Message, "principal (unknown") || took > 30*time.Second) {
				t.Errorf("verify foreign: took %s; message lacks the unknown principal: %s", took, v.Message)
			}
			assertNoSecret(t, "stacksync verify "+c.stack, out, secrets[c.stack])

			configGet, preview := pulumiDecrypts(t, p, dir, nil, c.stack)
			if configGet != (v.Status == "ok") || preview != (v.Status == "ok") {
				t.Errorf("verify %s says %s, but pulumi config get ok=%v, preview ok=%v", c.stack, v.Status, configGet, preview)
			}
		})
	}

	// audit --keys: one DescribeKey per distinct key, whatever the number
	// of stacks, and --fail-on key-disabled.
	t.Run("audit-keys", func(t *testing.T) {
		proxy := harness.StartRecordingProxy(t, k.Endpoint)
		aenv := stacksyncEnv(t, append(b.S3.Env(), "AWS_ENDPOINT_URL_KMS="+proxy.URL)...)
		o, e, code := runStacksync(t, b.Bin, aenv, "audit", "--backend", b.URL(), "--keys", "-o", "json", "--fail-on", "key-disabled,key-pending-deletion")
		if code != 3 {
			t.Errorf("audit --keys --fail-on key-disabled: exit %d, want 3\n%s%s", code, o, e)
		}
		var rep struct {
			Stacks []struct {
				Stack        string     `json:"stack"`
				KeyState     string     `json:"key_state"`
				DeletionDate *time.Time `json:"deletion_date"`
			} `json:"stacks"`
		}
		if err := json.Unmarshal([]byte(o), &rep); err != nil {
			t.Fatalf("audit JSON: %v\n%s", err, o)
		}
		want := map[string]string{"healthy": "Enabled", "disabled": "Disabled", "pending": "PendingDeletion", "moved": "Enabled", "foreign": "Enabled"}
		for _, s := range rep.Stacks {
			if s.KeyState != want[s.Stack] {
				t.Errorf("audit --keys: stack %s key_state %q, want %q", s.Stack, s.KeyState, want[s.Stack])
			}
			if (s.DeletionDate != nil) != (s.Stack == "pending") {
				t.Errorf("audit --keys: stack %s deletion_date %v", s.Stack, s.DeletionDate)
			}
		}
		// healthy and foreign share alias/pulumi_backend_software: four
		// distinct keys for five stacks.
		if n := len(proxy.Requests()); n != 4 {
			t.Errorf("audit --keys made %d KMS requests, want 4 (one DescribeKey per distinct key): %v", n, proxy.Requests())
		}
		o, e, code = runStacksync(t, b.Bin, aenv, "audit", "--backend", b.URL(), "--keys")
		if code != 0 || !strings.Contains(o, "alias/verify-pending") || !strings.Contains(o, "PendingDeletion") {
			t.Errorf("audit --keys (table): exit %d, want 0 and the keys table\n%s%s", code, o, e)
		}
	})
}

// TestVerifyPassphraseAgreesWithPulumi: a passphrase stack verified with
// the right passphrase, a wrong one, none, and each from a file; verify
// passes exactly when pulumi decrypts.
func TestVerifyPassphraseAgreesWithPulumi(t *testing.T) {
	const (
		right = "verify-right-passphrase-5e1c"
		wrong = "verify-wrong-passphrase-0b7d"
	)
	b := newScenarioBackend(t)
	dir := harness.NewYAMLProject(t, scenarioProject, "")
	p := b.newPulumi(t, harness.PulumiVersion, dir)
	good := initStackWithSecret(t, p, dir, "dev", "passphrase", passphraseEnv(right))
	salt := settingsProvider(good).Salt

	files := t.TempDir()
	rightFile := filepath.Join(files, "right.txt")
	wrongFile := filepath.Join(files, "wrong.txt")
	if err := os.WriteFile(rightFile, []byte(right+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The keys pulumi derives from each passphrase and the salt.
	leaks := map[string]string{"right passphrase": right, "wrong passphrase": wrong}
	rawSalt, err := base64.StdEncoding.DecodeString(strings.Split(salt, ":")[1])
	if err != nil {
		t.Fatal(err)
	}
	for name, phrase := range map[string]string{"right": right, "wrong": wrong} {
		key, err := pbkdf2.Key(sha256.New, phrase, rawSalt, 1_000_000, 32)
		if err != nil {
			t.Fatal(err)
		}
		leaks["derived key of the "+name+" passphrase (hex)"] = hex.EncodeToString(key)
		leaks["derived key of the "+name+" passphrase (base64)"] = base64.StdEncoding.EncodeToString(key)
	}

	cases := []struct {
		name       string
		env        []string
		wantStatus string
		wantReason string
	}{
		{"right", passphraseEnv(right), "ok", "passphrase-correct"},
		{"wrong", passphraseEnv(wrong), "fail", "passphrase-wrong"},
		{"missing", nil, "fail", "passphrase-missing"},
		{"right-file", []string{"PULUMI_CONFIG_PASSPHRASE_FILE=" + rightFile}, "ok", "passphrase-correct"},
		{"wrong-file", []string{"PULUMI_CONFIG_PASSPHRASE_FILE=" + wrongFile}, "fail", "passphrase-wrong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := stacksyncEnv(t, append(b.S3.Env(), c.env...)...)
			v, code, out := verifyStack(t, b.Bin, env, dir, b.URL(), "dev")
			if v.Status != c.wantStatus || v.Reason != c.wantReason {
				t.Errorf("verify: %s (%s), want %s (%s): %s", v.Status, v.Reason, c.wantStatus, c.wantReason, v.Message)
			}
			if wantCode := map[string]int{"ok": 0, "fail": 3}[c.wantStatus]; code != wantCode {
				t.Errorf("verify: exit %d, want %d", code, wantCode)
			}
			assertNoSecret(t, "stacksync verify", out, leaks)
			configGet, preview := pulumiDecrypts(t, p, dir, c.env, "dev")
			if configGet != (v.Status == "ok") || preview != (v.Status == "ok") {
				t.Errorf("verify says %s, but pulumi config get ok=%v, preview ok=%v", v.Status, configGet, preview)
			}
		})
	}
}

// TestRestoreVerify: after the CI loss of the settings file, restore
// --verify puts the provider back and verifies it with one KMS request and
// no second read of the backend; verify alone says the lost file is what
// pulumi would trip on.
func TestRestoreVerify(t *testing.T) {
	b := newScenarioBackend(t)
	dir := harness.NewYAMLProject(t, scenarioProject, "")
	p := b.newPulumi(t, harness.PulumiVersion, dir)
	stack := "dev"
	good := initStackWithSecret(t, p, dir, stack, b.KMS.SecretsProviderURL(false), nil)
	loseSettingsFile(t, p, dir, stack, good)
	leaks := dataKeyForms(t, b.KMS, settingsProvider(good).EncryptedKey)

	kmsProxy := harness.StartRecordingProxy(t, b.KMS.Endpoint)
	env := stacksyncEnv(t, append(b.S3.Env(), "AWS_ENDPOINT_URL_KMS="+kmsProxy.URL, noSTS)...)

	v, code, out := verifyStack(t, b.Bin, env, dir, b.URL(), stack)
	if v.Status != "fail" || v.Reason != "settings-mismatch" || code != 3 {
		t.Errorf("verify before restore: %s (%s), exit %d; want fail (settings-mismatch), exit 3", v.Status, v.Reason, code)
	}
	if n := len(kmsProxy.Requests()); n != 0 {
		t.Errorf("verify of a lost settings file made %d KMS requests, want 0", n)
	}
	assertNoSecret(t, "stacksync verify", out, leaks)

	s3Proxy := harness.StartRecordingProxy(t, b.S3.Endpoint)
	backend := harness.S3BackendURL(s3Proxy.HostPort, harness.Region, b.Bucket, "")
	o, e, code := runStacksync(t, b.Bin, env, "restore", "--verify", "-C", dir, "--backend", backend, stack)
	if code != 0 || !strings.Contains(o, stack+": verify: ok (decrypted)") {
		t.Errorf("restore --verify: exit %d, want 0 and a verify ok line\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	assertNoSecret(t, "stacksync restore --verify", o+e, leaks)
	if n := len(kmsProxy.Requests()); n != 1 || kmsProxy.Requests()[0].Method != "POST" {
		t.Errorf("restore --verify made KMS requests %v, want one Decrypt", kmsProxy.Requests())
	}
	s3Requests := len(s3Proxy.Requests())
	if s3Requests > 4 {
		t.Errorf("restore --verify made %d S3 requests, want a restore's (at most 4): %v", s3Requests, s3Proxy.Requests())
	}

	// What --verify adds to a restore, from the proxies' clocks: after the
	// restore's one S3 round, one KMS round trip. With every request
	// delayed by rtt, the KMS request must start right after the S3 round
	// (config loading, settings write: well under rtt) and be the only one.
	t.Run("added-latency", func(t *testing.T) {
		const rtt = 20 * time.Millisecond
		s3p := harness.StartRecordingProxy(t, b.S3.Endpoint)
		kmsp := harness.StartRecordingProxy(t, b.KMS.Endpoint)
		s3p.Delay, kmsp.Delay = rtt, rtt
		env := stacksyncEnv(t, append(b.S3.Env(), "AWS_ENDPOINT_URL_KMS="+kmsp.URL)...)
		backend := harness.S3BackendURL(s3p.HostPort, harness.Region, b.Bucket, "")
		var gaps, added []time.Duration
		for range 11 {
			s3p.Reset()
			kmsp.Reset()
			if _, e, code := runStacksync(t, b.Bin, env, "restore", "--verify", "-C", dir, "--backend", backend, stack); code != 0 {
				t.Fatalf("restore --verify: exit %d: %s", code, e)
			}
			s3r, kr := s3p.Requests(), kmsp.Requests()
			if len(kr) != 1 {
				t.Fatalf("KMS requests %v, want one Decrypt", kr)
			}
			var s3End time.Time
			for _, r := range s3r {
				if r.End.After(s3End) {
					s3End = r.End
				}
			}
			gaps = append(gaps, kr[0].Start.Sub(s3End))
			added = append(added, kr[0].End.Sub(s3End))
		}
		gap, add := sortedMedian(gaps), sortedMedian(added)
		t.Logf("rtt %v: after the S3 round, the KMS request starts after a median %v (min %v, max %v) and its answer arrives %v after it (min %v, max %v)",
			rtt, gap, gaps[0], gaps[len(gaps)-1], add, added[0], added[len(added)-1])
		if gap >= rtt {
			t.Errorf("median gap between the S3 round and the KMS request %v, want under one round trip (%v)", gap, rtt)
		}
	})
	assertSecretsWork(t, p, dir, stack, nil, "x")
}

// BenchmarkRestoreVerify measures what --verify adds to a restore, whole
// processes, with the settings file already right: on loopback, and with
// every S3 and KMS request delayed by rtt (a remote region's round trip).
func BenchmarkRestoreVerify(b *testing.B) {
	bin := harness.BuildStacksync(b)
	sd := seedS3(b)
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		s3p := harness.StartRecordingProxy(b, sd.s.Endpoint)
		kmsp := harness.StartRecordingProxy(b, sd.k.Endpoint)
		s3p.Delay, kmsp.Delay = rtt, rtt
		env := stacksyncEnv(b, append(sd.s.Env(), "AWS_ENDPOINT_URL_KMS="+kmsp.URL)...)
		backend := harness.S3BackendURL(s3p.HostPort, harness.Region, "state", "")
		for _, args := range [][]string{{"restore"}, {"restore", "--verify"}} {
			b.Run(strings.Join(args, "-")+"/rtt="+rtt.String(), func(b *testing.B) {
				var runs []time.Duration
				for i := 0; i < b.N; i++ {
					start := time.Now()
					o, e, code := runStacksync(b, bin, env, append(args, "-C", sd.dir, "--backend", backend, seedStack)...)
					runs = append(runs, time.Since(start))
					if code != 0 {
						b.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
					}
				}
				med := sortedMedian(runs)
				b.ReportMetric(float64(med.Nanoseconds())/1e6, "ms-median")
				b.Logf("%d runs: median %v, min %v, max %v", len(runs), med, runs[0], runs[len(runs)-1])
			})
		}
	}
}
