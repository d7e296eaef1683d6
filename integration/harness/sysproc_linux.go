package harness

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the child die with the test binary, so that a crashed
// or killed test run leaves no servers behind.
func setPdeathsig(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
