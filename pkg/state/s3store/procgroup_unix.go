//go:build unix

package s3store

import (
	"os"
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts cmd in a process group of its own, so that its
// cancellation kills every process it started, not only the shell. With a
// controlling terminal it stays in the terminal's group instead: a process
// outside that group that reads the terminal (a prompt for a one-time
// code) is stopped by the kernel, and there Ctrl-C reaches it and its
// children anyway.
func killGroupOnCancel(cmd *exec.Cmd) {
	if hasTerminal() {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// hasTerminal reports whether the process has a controlling terminal.
func hasTerminal() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	_ = f.Close()
	return true
}
