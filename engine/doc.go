// Package engine is berth's container engine: images on thin snapshots,
// isolated containers, their lifecycle and state, and the Docker-shaped
// HTTP API on /run/berth.sock. See ../shared/DESIGN.md, "Engine".
package engine
