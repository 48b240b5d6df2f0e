// Package runtime is berth's container runtime: it turns one Spec into a
// running, isolated process, as runc's libcontainer does for its daemon,
// and knows nothing of the engine, images, logs or the API.
//
// A container's first process (RunInit) and the exec helper (RunExec) are
// the running binary started again from a sealed copy of itself
// (exeseal.go). The first process is born in new namespaces inside the
// container's cgroup (cgroup.go, with its eBPF device filter from
// devices.go); it mounts the container's root and system filesystems,
// masks Docker's paths (mounts.go), pivots into the root, and finishes as
// every container process does (init.go): SELinux label, capabilities and
// user (caps.go, user.go), no_new_privs, no descriptor above stdio kept
// across the exec, and Docker's seccomp profile compiled to BPF in pure Go
// (seccomp.go) installed last. The exec helper joins a running
// container's namespaces, the PID namespace last, and finishes the same
// way (exec.go).
package runtime
