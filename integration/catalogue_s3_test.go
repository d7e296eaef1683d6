//go:build unix

package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// The setups and checks of the catalogue's rows for S3 servers that break
// the protocol and credentials that hang.

// catFault sets the rules of the world's fault proxy ($FAULT) for one row,
// and writes the settings file of stack staging.
func catFault(rules ...harness.FaultRule) func(*testing.T, *catCase) {
	return func(t *testing.T, c *catCase) {
		c.w.fault.SetRules(rules...)
		catStaging(t, c)
	}
}

// catHungCredentialProcess writes an AWS config file ($ROOT/aws-config)
// whose profile hung runs $ROOT/hung.sh as its credential_process: a
// script that starts a process that never ends, writes its pid to
// $ROOT/hung.pid, and waits for it.
func catHungCredentialProcess(t *testing.T, c *catCase) {
	catStaging(t, c)
	script := c.expand("#!/bin/sh\nsleep 600 &\necho $! > $ROOT/hung.pid\nwait\n")
	c.write(t, "../hung.sh", []byte(script))
	if err := os.Chmod(c.expand("$ROOT/hung.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.write(t, "../aws-config", []byte(c.expand("[profile hung]\ncredential_process = $ROOT/hung.sh\n")))
}

// catProcessGone checks that the process whose pid is in the file named
// (with tokens) no longer runs once stacksync has exited (a zombie does
// not run), and kills it if it does.
func catProcessGone(file string) func(*testing.T, *catCase, catResult) {
	return func(t *testing.T, c *catCase, _ catResult) {
		t.Helper()
		b, err := os.ReadFile(c.expand(file))
		if err != nil {
			t.Fatalf("the credential_process never started its child: %v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		stat := "/proc/" + strconv.Itoa(pid) + "/stat"
		if _, err := os.Stat("/proc/self/stat"); err != nil {
			t.Logf("no /proc: cannot see whether process %d still runs", pid)
			return
		}
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			s, err := os.ReadFile(stat)
			if err != nil || strings.Contains(string(s), ") Z ") {
				return
			}
		}
		t.Errorf("process %d, started by the credential_process, still runs after stacksync exited", pid)
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}
