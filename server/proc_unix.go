//go:build unix

package server

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that everything
// it starts (receive-pack, pack-objects, the hook) can be ended together.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup asks cmd's process group to end (SIGTERM: git removes its
// lock files), or kills it. The caller has not reaped cmd yet, so the
// group's id is still cmd's.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if cmd.Process == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-cmd.Process.Pid, sig)
}
