package harness

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// ActVersion is the nektos/act release tools.sh installs.
const ActVersion = "v0.2.89"

// ActRun is one `act push` of a workflow on the host.
type ActRun struct {
	// Dir is act's working directory (-C): what `uses: ./` resolves
	// against, once a step has copied it into the empty workspace.
	Dir string
	// Workflow is the workflow file (-W), absolute or relative to Dir.
	Workflow string
	// Env is the whole environment of act, which its host runner hands
	// to every step; nothing else is inherited.
	Env []string
	// Vars are the repository variables (vars context, --var).
	Vars map[string]string
	// Timeout bounds the run; default 10 minutes.
	Timeout time.Duration
}

// RunAct runs `act push -P ubuntu-latest=-self-hosted --action-offline-mode`
// for r: the jobs run on this host, offline, with no cache server and an
// action cache of their own. It returns act's combined output and exit
// code (-1 if it could not run or timed out).
func RunAct(t testing.TB, r ActRun) (output string, code int) {
	t.Helper()
	bin := filepath.Join(FindTools(t).BinDir, "act")
	mustExec(t, bin)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	args := []string{"push",
		"-C", r.Dir,
		"-W", r.Workflow,
		"-P", "ubuntu-latest=-self-hosted",
		"--action-offline-mode",
		"--no-cache-server",
		"--action-cache-path", t.TempDir(),
	}
	keys := make([]string, 0, len(r.Vars))
	for k := range r.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--var", k+"="+r.Vars[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.Dir
	cmd.Env = r.Env
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setPdeathsig(cmd)
	err := cmd.Run()
	code = ExitCode(err)
	if err == nil {
		code = 0
	}
	if ctx.Err() != nil {
		t.Errorf("harness: act timed out after %s", timeout)
		code = -1
	}
	return out.String(), code
}
