package server

import "syscall"

// setDeathSignal kills git's http-backend if the server dies first.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
