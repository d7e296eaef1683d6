//go:build unix

package s3store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// credentialProfiles writes an AWS config file with one profile per
// script (name → body of a sh script run as its credential_process) and
// returns the environment that selects it.
func credentialProfiles(t *testing.T, dir string, scripts map[string]string) map[string]string {
	t.Helper()
	var cfg strings.Builder
	for name, body := range scripts {
		p := filepath.Join(dir, name+".sh")
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg.WriteString("[profile " + name + "]\ncredential_process = " + p + "\n")
	}
	conf := filepath.Join(dir, "config")
	if err := os.WriteFile(conf, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"AWS_CONFIG_FILE": conf, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
}

// processGone reports whether the process whose pid is in file has ended
// (a zombie counts: it no longer runs), waiting up to 2 s.
func processGone(t *testing.T, file string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the credential_process never started its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return true
		}
	}
	return false
}

// TestS3CredentialProcess: a profile's credential_process runs once for
// New and signs the requests; one that fails or hangs is a credentials
// error naming the profile and its command, and a hung one is killed with
// the processes it started, whether its own timeout or the caller's
// context ends it.
func TestS3CredentialProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to see the processes")
	}
	dir := t.TempDir()
	env := credentialProfiles(t, dir, map[string]string{
		"ok":   `echo run >> ` + dir + `/runs; echo '{"Version":1,"AccessKeyId":"AKIDPROCESS","SecretAccessKey":"s"}'`,
		"hung": `sleep 600 & echo $! > ` + dir + `/pid; wait`,
		"bad":  `echo not json`,
	})
	f := newFakeS3(t)
	f.put(objKey, []byte("{}"), "v1")

	t.Run("ok", func(t *testing.T) {
		s, err := f.open(context.Background(), t, Options{Profile: "ok"}, env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(context.Background(), objKey); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) == 0 || !strings.Contains(reqs[len(reqs)-1].Auth, "Credential=AKIDPROCESS/") {
			t.Errorf("requests %+v not signed with the process's key", reqs)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.Count(string(b), "run") != 1 {
			t.Errorf("the credential_process ran %d times, want once", strings.Count(string(b), "run"))
		}
	})
	t.Run("bad", func(t *testing.T) {
		_, err := f.open(context.Background(), t, Options{Profile: "bad"}, env)
		want := "access denied: no AWS credentials for s3://bkt/: the credential_process of AWS profile bad (" + dir + "/bad.sh) failed: "
		if !errors.Is(err, store.ErrAccessDenied) || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; run it by hand to see why") {
			t.Errorf("err %v, want it to start %q", err, want)
		}
	})
	for _, tt := range []struct {
		name    string
		timeout time.Duration // Options.CredentialProcessTimeout
		ctx     time.Duration // the caller's deadline
		want    string
	}{
		{"own timeout", 500 * time.Millisecond, time.Minute, "access denied: no AWS credentials for s3://bkt/: the credential_process of AWS profile hung (" + dir + "/hung.sh) printed none within 500ms and was stopped; run it by hand to see what it waits for"},
		{"caller's deadline", time.Minute, 500 * time.Millisecond, "running the credential_process of AWS profile hung (" + dir + "/hung.sh) for s3://bkt/: context deadline exceeded"},
	} {
		t.Run("hung/"+tt.name, func(t *testing.T) {
			_ = os.Remove(filepath.Join(dir, "pid"))
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctx)
			defer cancel()
			start := time.Now()
			_, err := f.open(ctx, t, Options{Profile: "hung", CredentialProcessTimeout: tt.timeout}, env)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("New returned after %s, want about 500ms", d)
			}
			if hasTerminal() {
				t.Log("a controlling terminal: the credential_process stays in its group, and only the shell is killed")
				return
			}
			if !processGone(t, filepath.Join(dir, "pid")) {
				t.Errorf("the process the credential_process started still runs")
			}
		})
	}
}
