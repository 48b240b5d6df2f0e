package runtime

import (
	"fmt"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// SeccompProfile is the seccomp profile of a process with capabilities
// caps: Docker's default (github.com/moby/profiles/seccomp, its rules
// resolved against caps, this machine's architecture and kernel) when
// custom is empty, else custom, a profile in Docker's JSON form. It is
// compiled once here, so that a profile berth cannot run is refused when
// the container is created, not when it starts.
func SeccompProfile(custom string, caps []string) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	for _, c := range caps {
		rs.Process.Capabilities.Bounding = append(rs.Process.Capabilities.Bounding, "CAP_"+c)
	}
	var p *specs.LinuxSeccomp
	var err error
	if custom == "" {
		p, err = seccomp.GetDefaultProfile(rs)
	} else {
		p, err = seccomp.LoadProfile(custom, rs)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSeccomp, err)
	}
	if p == nil {
		return nil, fmt.Errorf("%w: the profile has no default action and no rules; use seccomp=unconfined to run without one", ErrSeccomp)
	}
	if _, _, err := CompileSeccomp(p); err != nil {
		return nil, err
	}
	return p, nil
}
