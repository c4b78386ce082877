//go:build !unix

package server

import "os/exec"

// ownGroup does nothing where there are no process groups: only git's
// http-backend itself is ended.
func ownGroup(*exec.Cmd) {}

// signalGroup kills the http-backend process.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
