package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// The environment in which hive serve runs its pre-receive hook. git's
// http-backend hands its own environment to receive-pack and the hook; a
// client cannot set these names (CGI turns request headers into HTTP_*).
const (
	BinaryEnv   = "HIVE_BINARY"        // the hive binary the hook runs
	InstanceEnv = "HIVE_PUSH_INSTANCE" // the instance the pusher's token speaks for
	RoleEnv     = "HIVE_PUSH_ROLE"     // "instance" or "maintainer"
)

// Roles of a pusher, in RoleEnv.
const (
	RoleInstance   = "instance"
	RoleMaintainer = "maintainer"
)

// ErrNoPusher reports a push to hive serve's hook that does not name who
// pushes: the hook refuses it rather than let it through unchecked.
var ErrNoPusher = errors.New("the server named no authenticated pusher")

// Env returns the environment lines that name w to hive serve's hook,
// which runs bin.
func Env(bin string, w registry.Writer) []string {
	role := RoleInstance
	if w.Maintainer {
		role = RoleMaintainer
	}
	return []string{BinaryEnv + "=" + bin, InstanceEnv + "=" + w.Instance, RoleEnv + "=" + role}
}

// ServedWriter reads the pusher that hive serve names in the hook's
// environment; ErrNoPusher when it names none or names one badly.
func ServedWriter(getenv func(string) string) (*registry.Writer, error) {
	inst, role := getenv(InstanceEnv), getenv(RoleEnv)
	if !schema.ValidInstanceID(inst) || (role != RoleInstance && role != RoleMaintainer) {
		return nil, ErrNoPusher
	}
	return &registry.Writer{Instance: inst, Maintainer: role == RoleMaintainer}, nil
}

// Gate checks the ref updates of one push to the hive at gitDir, whose new
// objects git holds in quarantine (the hook's GIT_QUARANTINE_PATH; "" when
// there is none). w is the pusher a server authenticated, nil for a push
// limited by the rules alone (registry.Store.CheckUpdates). The push may
// go ahead only when the report has no violations.
func Gate(ctx context.Context, gitDir, quarantine string, updates []registry.Update, w *registry.Writer) (*registry.Report, error) {
	s, err := registry.Open(gitDir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	main, err := s.Head()
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	check := s
	if quarantine != "" {
		qs, cleanup, err := registry.OpenQuarantine(s.GitDir(), quarantine)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		check = qs
	}
	return check.CheckUpdatesContext(ctx, updates, main, w)
}

// VerifyPush checks what a working hive's pre-push hook is asked to push
// (git's "local-ref local-sha remote-ref remote-sha" lines): the commits
// of every ref, in one verification, from the verified tips. Both stop
// when ctx ends, with its error.
func VerifyPush(ctx context.Context, s *registry.Store, in io.Reader) (*registry.Report, error) {
	heads, err := readPushed(in)
	if err != nil {
		return nil, err
	}
	if len(heads) == 0 {
		return &registry.Report{}, nil
	}
	return s.VerifyContext(ctx, heads[0], registry.VerifyOptions{Heads: heads[1:]})
}

// Summary is the line a gate prints when a push passes.
func Summary(updates []registry.Update, r *registry.Report) string {
	refs := fmt.Sprintf("%d refs", len(updates))
	if len(updates) == 1 {
		refs = string(updates[0].Ref)
	}
	return fmt.Sprintf("%s verified (%s, %s)", refs, plural.N(r.Commits, "commit"), plural.N(r.Traces, "trace"))
}
