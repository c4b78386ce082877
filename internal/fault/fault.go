// Package fault lets a test stop hive at a chosen point of a write, as a
// crash would, or make one step of it fail: the fault tests name the
// point in the environment variable HIVE_FAULT of the hive they run
// ("kill:after-ref", "fail:worktree"). Without it, every call is a no-op.
package fault

import (
	"errors"
	"os"
	"sync"
)

// Var is the environment variable that names the fault.
const Var = "HIVE_FAULT"

var fault = sync.OnceValue(func() string { return os.Getenv(Var) })

// Kill ends the process at once, as a crash would (no deferred function
// runs, no file is closed or removed), when HIVE_FAULT is "kill:"+point.
func Kill(point string) {
	if fault() != "kill:"+point {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	os.Exit(137) // where the signal is slow or not delivered: no deferred function runs either
}

// ErrInjected is the error Fail returns.
var ErrInjected = errors.New("fault injected by " + Var)

// Fail returns ErrInjected when HIVE_FAULT is "fail:"+point, else nil.
func Fail(point string) error {
	if fault() != "fail:"+point {
		return nil
	}
	return ErrInjected
}
