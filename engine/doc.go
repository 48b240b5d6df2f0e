// Package engine is berth's container engine: images on thin snapshots,
// the builder, isolated containers, their lifecycle and state; the api
// package serves it as the Docker Engine API on /run/berth.sock. See
// docs/design.md, "Engine and API".
package engine
