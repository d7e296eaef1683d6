//go:build !unix

package harness

import "os/exec"

// setCredential does nothing: postgresRunAs never asks for another user
// where os.Geteuid is not a Unix user id.
func setCredential(cmd *exec.Cmd, u *osUser) {}
