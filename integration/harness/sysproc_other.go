//go:build !linux

package harness

import "os/exec"

func setPdeathsig(cmd *exec.Cmd) {}
