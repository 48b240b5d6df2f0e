// Package supervise keeps processes running and accounted for, for PID 1
// and the engine alike: the reaper (each process's one wait4 loop, which
// hands every child's exit to whoever started it), the keeper (PID 1's
// hold on running containers' streams and exits while no engine runs)
// and the restart policy (one Restarter for containers and the engine).
// See docs/design.md.
package supervise
