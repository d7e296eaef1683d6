package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestShow(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json": passphraseCheckpoint("dev"),
		".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json": auditLock,
		".pulumi/backups/demo/dev/dev.1700000000000000000.json":                         cloudCheckpoint("dev"),
		".pulumi/backups/demo/dev/dev.1750000000000000000.json.gz":                      string(storetest.Gzip(t, []byte(auditCloudCheckpoint("dev", auditOtherURL, kmsKey)))),
		".pulumi/history/demo/dev/dev-1800000000000000000.checkpoint.json":              passphraseCheckpoint("dev"),
		".pulumi/history/demo/dev/dev-1800000000000000000.history.json":                 `{"kind":"update"}`,
		".pulumi/stacks/demo/kms.json.gz":                                               string(storetest.Gzip(t, []byte(cloudCheckpoint("kms")))),
	})
	code, out, errs := auditRun(t, f, "show", "dev")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	t.Logf("show dev:\n%s", out)
	for _, want := range []string{
		"stack:        demo/dev\n",
		"provider:     passphrase\n",
		"checkpoint version 3",
		"locks:        1\n",
		"  alice@ci-1 pid 4242 since 2026-03-20T10:11:12Z\n",
		"history:      newest first\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q", want)
		}
	}
	// History lines, newest first.
	var hist []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  20") {
			hist = append(hist, strings.Join(strings.Fields(l)[:3], " "))
		}
	}
	wantHist := []string{
		time.Unix(0, 1800000000000000000).UTC().Format(time.RFC3339) + " history passphrase",
		time.Unix(0, 1750000000000000000).UTC().Format(time.RFC3339) + " backup awskms",
		time.Unix(0, 1700000000000000000).UTC().Format(time.RFC3339) + " backup awskms",
	}
	if !slices.Equal(hist, wantHist) {
		t.Errorf("history lines %q, want %q", hist, wantHist)
	}
	if !strings.Contains(out, "awskms 1234abcd-12ab-34cd-56ef-1234567890ab data key "+auditFP(kmsKey)) {
		t.Errorf("history lacks the key id and fingerprint of the gz backup")
	}

	code, out, _ = auditRun(t, f, "show", "demo/dev", "-o", "json")
	if code != exitOK {
		t.Fatalf("show -o json: exit %d", code)
	}
	var d struct {
		Provider string `json:"provider"`
		Locked   bool   `json:"locked"`
		Locks    []struct {
			Username  string    `json:"username"`
			Hostname  string    `json:"hostname"`
			PID       int       `json:"pid"`
			Timestamp time.Time `json:"timestamp"`
		} `json:"locks"`
		History []struct {
			Time            time.Time `json:"time"`
			Kind            string    `json:"kind"`
			Provider        string    `json:"provider"`
			SecretsProvider string    `json:"secretsprovider"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, out)
	}
	if d.Provider != "passphrase" || !d.Locked || len(d.Locks) != 1 || d.Locks[0].Username != "alice" || d.Locks[0].Hostname != "ci-1" ||
		d.Locks[0].PID != 4242 || !d.Locks[0].Timestamp.Equal(time.Date(2026, 3, 20, 10, 11, 12, 0, time.UTC)) {
		t.Errorf("show json = %+v", d)
	}
	if len(d.History) != 3 || d.History[0].Provider != "passphrase" || d.History[1].SecretsProvider != auditOtherURL || d.History[2].SecretsProvider != kmsURL {
		t.Errorf("history = %+v", d.History)
	}
	for i := 1; i < len(d.History); i++ {
		if !d.History[i].Time.Before(d.History[i-1].Time) {
			t.Errorf("history not newest first: %+v", d.History)
		}
	}

	code, out, _ = auditRun(t, f, "show", "kms")
	for _, want := range []string{"provider:     awskms\n", "url:          " + kmsURL + "\n", "key:          alias/pulumi_backend_software\n",
		"region:       us-west-2\n", "data key:     sha256 " + auditFP(kmsKey), "gzip, checkpoint version 3", "locks:        none\n",
		"history:      no backups or history checkpoints\n"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("show kms: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, kmsKey) {
		t.Errorf("show printed the encrypted key")
	}

	if code, _, errs := auditRun(t, f, "show", "nope"); code != exitError || !strings.Contains(errs, "project demo has: dev, kms") {
		t.Errorf("show nope: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := auditRun(t, f, "show"); code != exitUsage {
		t.Errorf("show without a stack: exit %d, want 2", code)
	}
}
