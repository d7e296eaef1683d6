//go:build unix

package harness

import (
	"os/exec"
	"syscall"
)

// setCredential makes cmd run as u (nil: as this process's user).
func setCredential(cmd *exec.Cmd, u *osUser) {
	if u == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.Uid, Gid: u.Gid}
}
