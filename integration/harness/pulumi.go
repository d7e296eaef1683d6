package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Pulumi runs one version of the real pulumi CLI with an environment built
// from scratch: nothing is inherited from the outer environment except
// PATH (after the harness's own bin dirs) and TMPDIR, so a developer's
// PULUMI_CONFIG_PASSPHRASE, PULUMI_BACKEND_URL, AWS_PROFILE, ~/.aws or
// ~/.pulumi can never leak into a test.
type Pulumi struct {
	Bin     string // path of the pulumi binary
	Version string // e.g. "v3.274.1"
	Home    string // PULUMI_HOME (also HOME) of this runner, a t.TempDir()
	// Timeout bounds each Run; default 5 minutes.
	Timeout time.Duration

	t   testing.TB
	env []string
}

// NewPulumi returns a runner for pulumi at version with a fresh PULUMI_HOME.
// Its base environment:
//
//	HOME=PULUMI_HOME=<temp>  PATH=<cache>/bin:<pulumi dir>:$PATH
//	PULUMI_SKIP_UPDATE_CHECK=true
//	PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
//	AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY = AccessKey / SecretKey
//	AWS_REGION=AWS_DEFAULT_REGION=us-east-1  AWS_EC2_METADATA_DISABLED=true
//	AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE -> nonexistent temp paths
//
// The AWS keys are the ones StartS3 gives versitygw, so a backend URL from
// S3.BackendURL works as is. Call UseKMS to point KMS at local-kms.
// PULUMI_DIY_BACKEND_NO_LEGACY_WARNING is not set unless a caller sets it.
func NewPulumi(t testing.TB, version string) *Pulumi {
	t.Helper()
	tools := FindTools(t)
	bin := tools.PulumiPath(t, version)
	home := t.TempDir()
	path := tools.BinDir + string(os.PathListSeparator) + filepath.Dir(bin)
	if outer := os.Getenv("PATH"); outer != "" {
		path += string(os.PathListSeparator) + outer
	}
	p := &Pulumi{Bin: bin, Version: version, Home: home, Timeout: 5 * time.Minute, t: t}
	p.env = []string{
		"HOME=" + home,
		"PULUMI_HOME=" + home,
		"PATH=" + path,
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
		// The Google and Azure credential chains end at a metadata
		// service off this machine: point them at a closed local port.
		"GCE_METADATA_HOST=" + ClosedMetadataHost,
		"GCE_METADATA_IP=" + ClosedMetadataHost,
		"IDENTITY_ENDPOINT=http://" + ClosedMetadataHost + "/metadata/identity/oauth2/token",
		"IMDS_ENDPOINT=http://" + ClosedMetadataHost,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		p.env = append(p.env, "TMPDIR="+tmp)
	}
	return p
}

// Setenv sets a variable in the runner's base environment.
func (p *Pulumi) Setenv(key, value string) {
	p.env = mergeEnv(p.env, []string{key + "=" + value})
}

// Unsetenv removes a variable from the runner's base environment.
func (p *Pulumi) Unsetenv(key string) {
	out := p.env[:0]
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	p.env = out
}

// UseKMS points the AWS SDK v2 KMS client at k (AWS_ENDPOINT_URL_KMS).
func (p *Pulumi) UseKMS(k *KMS) {
	p.env = mergeEnv(p.env, k.Env())
}

// Env returns a copy of the base environment.
func (p *Pulumi) Env() []string { return append([]string(nil), p.env...) }

// Run runs pulumi with args in dir. env entries ("K=V") are added to the
// base environment, replacing variables of the same name. --non-interactive
// is not added; stdin is empty.
func (p *Pulumi) Run(dir string, env []string, args ...string) (stdout, stderr string, err error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	cmd.Dir = dir
	cmd.Env = mergeEnv(p.env, env)
	cmd.WaitDelay = 10 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	setPdeathsig(cmd)
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return o.String(), e.String(), err
}

// MustRun is Run that fails the test (with both outputs) on error and
// returns stdout.
func (p *Pulumi) MustRun(dir string, env []string, args ...string) string {
	p.t.Helper()
	o, e, err := p.Run(dir, env, args...)
	if err != nil {
		p.t.Fatalf("pulumi %s %s: %v\nstdout:\n%s\nstderr:\n%s", p.Version, strings.Join(args, " "), err, o, e)
	}
	return o
}

// UsesAWSSDKV1ForKMS reports whether this pulumi release opens awskms://
// keepers with AWS SDK v1 unless the URL says awssdk=v2. SDK v1 ignores
// AWS_ENDPOINT_URL_KMS, so such releases cannot reach local-kms without
// "&awssdk=v2" (KMS.SecretsProviderURL(true)).
func (p *Pulumi) UsesAWSSDKV1ForKMS() bool {
	return versionLess(p.Version, firstVersionKMSSDKV2)
}

// SecretsProviderURL is k.SecretsProviderURL with &awssdk=v2 added when
// this release needs it.
func (p *Pulumi) SecretsProviderURL(k *KMS) string {
	return k.SecretsProviderURL(p.UsesAWSSDKV1ForKMS())
}

// firstVersionKMSSDKV2 is the first pulumi release known to default to AWS
// SDK v2 for awskms (its gocloud has no SDK v1 at all).
const firstVersionKMSSDKV2 = "v3.274.1"

// versionLess compares "vX.Y.Z" versions numerically.
func versionLess(a, b string) bool {
	pa, pb := parseVersion(a), parseVersion(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func parseVersion(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, part := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(part)
		out[i] = n
	}
	return out
}

// mergeEnv returns base with extra applied: an extra "K=V" replaces any
// "K=..." in base. Later entries win.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		replaced := false
		for i, old := range out {
			if strings.HasPrefix(old, k+"=") {
				out[i] = kv
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// NewYAMLProject writes Pulumi.yaml ("name: <name>", "runtime: yaml", then
// body verbatim, e.g. an "outputs:" section) into a fresh temp dir and
// returns the dir.
func NewYAMLProject(t testing.TB, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	content := "name: " + name + "\nruntime: yaml\n" + body
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(content), 0o644); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return dir
}

// ExitCode returns the exit status carried by err from Run, or -1.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// ClosedMetadataHost is a loopback address where nothing listens, for the
// cloud credential chains' metadata services, which would otherwise be
// asked at an address off this machine.
const ClosedMetadataHost = "127.0.0.1:9"
