package integration

// End-to-end test of the library from a Pulumi Automation API program: the
// real pulumi seeds an awskms stack in versitygw (key in local-kms), CI
// loses the settings file, and an in-process program built on
// github.com/pulumi/pulumi/sdk/v3/go/auto calls restore.Stacks before
// UpsertStackLocalSource, so its Preview runs with no passphrase set.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/restore"
)

// automationProject is the Pulumi.yaml body of the Automation API test: the
// program declares the secret config value and exports it, so a preview
// has to decrypt it.
const automationProject = `config:
  ` + scenarioSecretKey + `:
    type: string
outputs:
  greeting: hello
  apikey: ${` + scenarioSecretKey + `}
`

// automationStack is the stack the Automation API program deploys.
const automationStack = "dev.my-service.us-east-1"

// TestAutomationAPIRestoreBeforePreview runs an Automation API program
// against versitygw and local-kms with the real pulumi: without the
// library its preview fails with the passphrase error; with
// restore.Stacks called before UpsertStackLocalSource the preview
// succeeds and the secret decrypts, with PULUMI_CONFIG_PASSPHRASE(_FILE)
// unset throughout.
func TestAutomationAPIRestoreBeforePreview(t *testing.T) {
	harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: "awskms alias", Compression: "none", Layout: "project", Backend: "s3"})
	s3 := harness.StartS3(t)
	kms := harness.StartKMS(t)
	s3.CreateBucket(t, scenarioBucket)
	backendURL := s3.BackendURL(scenarioBucket, "")

	// Seed with the CLI: stack init with awskms, a secret, then the loss.
	dir := harness.NewYAMLProject(t, scenarioProject, automationProject)
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(kms)
	p.MustRun(dir, nil, "login", backendURL)
	providerURL := p.SecretsProviderURL(kms)
	good := initStackWithSecret(t, p, dir, automationStack, providerURL, nil)
	if gp := settingsProvider(good); gp.Type != "cloud" || gp.URL != providerURL || gp.EncryptedKey == "" {
		t.Fatalf("settings file after init: %+v, want cloud %s\n%s", gp, providerURL, good)
	}
	lost := loseSettingsFile(t, p, dir, automationStack, good)
	path := settingsPath(dir, automationStack)

	// The program's own process: no passphrase, nothing of the developer's
	// pulumi or AWS setup, and the gateway's credentials for the library's
	// S3 client, as a CI job would hold them.
	isolateProcessEnv(t, p.Env())

	// The workspace: a PULUMI_HOME of its own (not the one the CLI logged
	// in with, so only PULUMI_BACKEND_URL names the backend), local-kms for
	// awskms, and the harness's pulumi binary.
	home := t.TempDir()
	wsEnv := envMap(p.Env())
	wsEnv["HOME"], wsEnv["PULUMI_HOME"] = home, home
	wsEnv["PULUMI_BACKEND_URL"] = backendURL
	for _, kv := range kms.Env() {
		k, v, _ := strings.Cut(kv, "=")
		wsEnv[k] = v
	}
	cmd := automationPulumiCommand(t, p.Bin)
	opts := []auto.LocalWorkspaceOption{auto.Pulumi(cmd), auto.PulumiHome(home), auto.EnvVars(wsEnv)}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Without the library: the program's preview hits the passphrase error.
	stack, err := auto.UpsertStackLocalSource(ctx, automationStack, dir, opts...)
	if err != nil {
		t.Fatalf("UpsertStackLocalSource before the restore: %v", err)
	}
	_, err = stack.Preview(ctx)
	if err == nil || !strings.Contains(err.Error(), passphraseError) {
		t.Fatalf("Preview without the restore: err %v, want the passphrase error", err)
	}
	t.Logf("Preview without the restore fails: %s", errorLine(err, "passphrase"))
	if got := readFile(t, path); string(got) != string(lost) {
		t.Fatalf("the failing preview changed the settings file:\n%s\nwas:\n%s", got, lost)
	}

	// With the library: Restore, then the same Automation API calls.
	r := restoreForAutomation(ctx, t, dir, automationStack, wsEnv)
	if r.Err != nil || r.Status != restore.Updated || !r.Written {
		t.Fatalf("restore.Stacks: status %v, written %v, err %v; want updated and written", r.Status, r.Written, r.Err)
	}
	if r.File != path {
		t.Errorf("restore.Stacks wrote %s, want %s", r.File, path)
	}
	if kind := r.Resolved.Provider.Kind(); kind != "awskms" {
		t.Errorf("restored provider kind %q, want awskms", kind)
	}
	restored := assertRestoredFile(t, path, good, lost)

	stack, err = auto.UpsertStackLocalSource(ctx, automationStack, dir, opts...)
	if err != nil {
		t.Fatalf("UpsertStackLocalSource after the restore: %v", err)
	}
	pr, err := stack.Preview(ctx)
	if err != nil {
		t.Fatalf("Preview after the restore, no passphrase: %v", err)
	}
	t.Logf("preview after the restore: change summary %v", pr.ChangeSummary)
	if len(pr.ChangeSummary) == 0 {
		t.Errorf("Preview after the restore reports no changes; stdout:\n%s", pr.StdOut)
	}
	if strings.Contains(pr.StdOut, scenarioSecretValue) || strings.Contains(pr.StdErr, scenarioSecretValue) {
		t.Errorf("Preview printed the secret in clear:\n%s\n%s", pr.StdOut, pr.StdErr)
	}

	cv, err := stack.GetConfig(ctx, scenarioSecretKey)
	if err != nil {
		t.Fatalf("GetConfig %s after the restore: %v", scenarioSecretKey, err)
	}
	if cv.Value != scenarioSecretValue || !cv.Secret {
		t.Errorf("GetConfig %s = %+v, want the secret %q", scenarioSecretKey, cv, scenarioSecretValue)
	}
	if got := readFile(t, path); string(got) != string(restored) {
		t.Errorf("preview and GetConfig changed the restored settings file:\n%s\nwas:\n%s", got, restored)
	}
}

// restoreForAutomation is the program's call into the library, one call:
// find the project in dir, resolve the backend as pulumi would from the
// workspace environment env (PULUMI_BACKEND_URL there: HOME is empty and
// the project names none), and restore stack's settings file. It fails the
// test if the project or backend cannot be opened.
func restoreForAutomation(ctx context.Context, t *testing.T, dir, stack string, env map[string]string) restore.Result {
	t.Helper()
	cfg := restore.Config{Getenv: func(k string) string { return env[k] }, Home: env["HOME"]}
	results, err := restore.Stacks(ctx, dir, []string{stack}, cfg, restore.Options{})
	if err != nil || len(results) != 1 {
		t.Fatalf("restore.Stacks = %v, %v; want one result", results, err)
	}
	if r := results[0]; !strings.HasPrefix(r.SourceObject, "s3://") {
		t.Fatalf("restore.Stacks read %q, want an object of the PULUMI_BACKEND_URL backend %s", r.SourceObject, env["PULUMI_BACKEND_URL"])
	}
	return results[0]
}

// automationPulumiCommand is the Automation API's handle on the pulumi
// binary bin (<root>/bin/pulumi), checked to be the harness's release.
func automationPulumiCommand(t *testing.T, bin string) auto.PulumiCommand {
	t.Helper()
	want, err := semver.ParseTolerant(harness.PulumiVersion)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(bin))
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, Version: want})
	if err != nil {
		t.Fatalf("auto.NewPulumiCommand(%s): %v", root, err)
	}
	if !cmd.Version().EQ(want) {
		t.Fatalf("auto.NewPulumiCommand(%s) runs pulumi %s, want %s", root, cmd.Version(), want)
	}
	return cmd
}

// leakyEnv are variables of the outer environment that would change what
// pulumi or the AWS SDK does, so the program's process must not have them.
var leakyEnv = []string{
	"PULUMI_CONFIG_PASSPHRASE",
	"PULUMI_CONFIG_PASSPHRASE_FILE",
	"PULUMI_BACKEND_URL",
	"PULUMI_ACCESS_TOKEN",
	"PULUMI_CREDENTIALS_PATH",
	"PULUMI_HOME",
	"AWS_PROFILE",
	"AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_S3",
	"AWS_ENDPOINT_URL_KMS",
	"AWS_ROLE_ARN",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
}

// isolateProcessEnv unsets leakyEnv in this test process and sets the
// AWS_* and PULUMI_* variables of env (the harness runner's base
// environment); t restores everything afterwards. The Automation API
// starts pulumi with os.Environ() plus the workspace's variables, and the
// library's S3 client reads AWS settings from the process, so both must
// see only what the test chose.
func isolateProcessEnv(t *testing.T, env []string) {
	t.Helper()
	for _, k := range leakyEnv {
		t.Setenv(k, "") // registers the restore
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || (strings.HasPrefix(k, "PULUMI_") && k != "PULUMI_HOME") {
			t.Setenv(k, v)
		}
	}
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
		if _, ok := os.LookupEnv(k); ok {
			t.Fatalf("%s is still set in the test process", k)
		}
	}
}

// envMap turns "K=V" entries into a map; later entries win.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// errorLine returns the first line of err's message that contains sub,
// for the log: an Automation API error carries pulumi's whole output.
func errorLine(err error, sub string) string {
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
