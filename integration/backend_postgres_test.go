package integration

// End to end on a postgres:// backend: the real pulumi keeps an awskms
// stack (keys in local-kms) and a passphrase stack in PostgreSQL, their
// settings files are lost, pulumi asks for a passphrase, the built
// stacksync binary restores them from the backend given by --backend and
// by pulumi login, and pulumi decrypts again with no passphrase. Then
// audit, a missing stack, ?table= and the PG*-environment form.

import (
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// TestBackendPostgres runs the scenario on PostgreSQL with the database
// in the URL's path, so that pulumi's keys start with "<database>/".
func TestBackendPostgres(t *testing.T) {
	bin := harness.BuildStacksync(t)
	pg := startTimed(t, "postgres", harness.StartPostgres)
	k := harness.StartKMS(t)
	db := pg.Database
	url := pg.BackendURL(db, "")

	dir := harness.NewYAMLProject(t, scenarioProject, "outputs:\n  greeting: hello\n")
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(k)
	p.MustRun(dir, nil, "login", url)
	providerURL := p.SecretsProviderURL(k)
	p1 := passphraseEnv("p1")
	up := []string{"up", "--yes", "--non-interactive", "--skip-preview", "-s"}
	kmsGood := initStackWithSecret(t, p, dir, "kms", providerURL, nil)
	p.MustRun(dir, nil, append(up, "kms")...)
	passGood := initStackWithSecret(t, p, dir, "pass", "passphrase", p1)
	p.MustRun(dir, p1, append(up, "pass")...)
	keys := pg.ListKeys(t, db, harness.PostgresTable, "")
	for _, s := range []string{"kms", "pass"} {
		if want := db + "/.pulumi/stacks/" + scenarioProject + "/" + s + ".json"; !slices.Contains(keys, want) {
			t.Fatalf("no row %s after pulumi up; rows:\n%s", want, strings.Join(keys, "\n"))
		}
	}

	// lose loses both settings files as CI does, and checks that pulumi
	// then asks for a passphrase.
	lose := func(t *testing.T) (kmsLost, passLost []byte) {
		kmsLost = loseSettingsFile(t, p, dir, "kms", kmsGood)
		assertPassphraseRequired(t, p, dir, "kms")
		passLost = loseSettingsFile(t, p, dir, "pass", passGood)
		assertPassphraseRequired(t, p, dir, "pass")
		return kmsLost, passLost
	}
	// restored checks stacksync's report and the files, and that pulumi
	// decrypts the secrets with no passphrase (kms) or the original one.
	restored := func(t *testing.T, out string, kmsLost, passLost []byte) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		for _, want := range []string{
			"kms: updated Pulumi.kms.yaml (awskms " + settingsProvider(kmsGood).keyID() + ")",
			"pass: updated Pulumi.pass.yaml (passphrase)",
		} {
			if !slices.Contains(lines, want) {
				t.Errorf("stacksync restore stdout:\n%s\nwant the line:\n%s", out, want)
			}
		}
		assertRestoredFile(t, settingsPath(dir, "kms"), kmsGood, kmsLost)
		assertRestoredFile(t, settingsPath(dir, "pass"), passGood, passLost)
		// pulumi's commands act on the selected stack.
		p.MustRun(dir, nil, "stack", "select", "kms")
		assertSecretsWork(t, p, dir, "kms", nil, "x")
		p.MustRun(dir, nil, "stack", "select", "pass")
		assertSecretsWork(t, p, dir, "pass", p1, "x")
	}

	t.Run("restore by --backend", func(t *testing.T) {
		recordPostgresCells(t, "awskms alias", "passphrase")
		kmsLost, passLost := lose(t)
		out := mustStacksync(t, bin, stacksyncEnv(t), "restore", "-C", dir, "--backend", url, "kms", "pass")
		restored(t, out, kmsLost, passLost)
	})

	t.Run("restore by pulumi login", func(t *testing.T) {
		recordPostgresCells(t, "awskms alias", "passphrase")
		kmsLost, passLost := lose(t)
		// pulumi login wrote the URL to credentials.json in its home.
		out := mustStacksync(t, bin, stacksyncEnv(t, "PULUMI_HOME="+p.Home), "restore", "-C", dir, "kms", "pass")
		restored(t, out, kmsLost, passLost)
	})

	t.Run("audit", func(t *testing.T) {
		o, e, code := runStacksync(t, bin, stacksyncEnv(t), "audit", "--backend", url, "-o", "json")
		if code != 0 {
			t.Fatalf("audit: exit %d\nstderr:\n%s", code, e)
		}
		out := auditDecode(t, o)
		got := map[string]string{}
		for _, r := range out.Stacks {
			got[r.Project+"/"+r.Stack] = r.Provider + " " + r.SecretsProvider
			if r.Error != "" || !strings.HasPrefix(r.Object, "postgres://") || strings.Contains(r.Object, "password") {
				t.Errorf("audit row %+v", r)
			}
		}
		want := map[string]string{scenarioProject + "/kms": "awskms " + providerURL, scenarioProject + "/pass": "passphrase "}
		if len(got) != 2 || got[scenarioProject+"/kms"] != want[scenarioProject+"/kms"] || got[scenarioProject+"/pass"] != want[scenarioProject+"/pass"] {
			t.Errorf("audit stacks %q, want %q", got, want)
		}
	})

	t.Run("missing stack exits 5", func(t *testing.T) {
		o, e, code := runStacksync(t, bin, stacksyncEnv(t), "restore", "-C", dir, "--backend", url, "nosuch")
		if code != 5 || !strings.Contains(e, "nosuch") {
			t.Errorf("restore of a missing stack: exit %d, want 5\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
	})

	// One passphrase stack per form, created by pulumi with the form's
	// URL and environment, restored by stacksync with the same.
	forms := []struct {
		name, url, table, prefix string
		env                      []string
	}{
		{"table parameter", pg.BackendURL(db, "team_state"), "team_state", db + "/", nil},
		{"PG environment", "postgres:///?table=env_state", "env_state", "", pg.EnvOnly(db)},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			recordPostgresCells(t, "passphrase")
			fdir := harness.NewYAMLProject(t, scenarioProject, "")
			fp := harness.NewPulumi(t, harness.PulumiVersion)
			for _, kv := range f.env {
				k, v, _ := strings.Cut(kv, "=")
				fp.Setenv(k, v)
			}
			fp.MustRun(fdir, nil, "login", f.url)
			good := initStackWithSecret(t, fp, fdir, "dev", "passphrase", p1)
			if want := f.prefix + ".pulumi/stacks/" + scenarioProject + "/dev.json"; !slices.Contains(pg.ListKeys(t, db, f.table, ""), want) {
				t.Fatalf("no row %s in table %s", want, f.table)
			}
			lost := loseSettingsFile(t, fp, fdir, "dev", good)
			assertPassphraseRequired(t, fp, fdir, "dev")
			out := mustStacksync(t, bin, stacksyncEnv(t, f.env...), "restore", "-C", fdir, "--backend", f.url, "dev")
			if !strings.Contains(out, "dev: updated Pulumi.dev.yaml (passphrase)") {
				t.Errorf("stacksync restore stdout:\n%s", out)
			}
			assertRestoredFile(t, settingsPath(fdir, "dev"), good, lost)
			assertSecretsWork(t, fp, fdir, "dev", p1, "x")
		})
	}
}

// recordPostgresCells records the compatibility matrix's cells of t, one
// per provider, on the postgres backend.
func recordPostgresCells(t *testing.T, providers ...string) {
	for _, p := range providers {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: p, Compression: "none", Layout: "project", Backend: "postgres"})
	}
}
