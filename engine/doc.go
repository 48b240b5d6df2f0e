// Package engine is berth's container engine: containers' lifecycle
// (create, start, stop, monitor, restart, remove), the containers the
// config declares, volumes, links, logs, attach and exec's host side, and
// the methods the api package serves as the Docker Engine API. Images
// live in the imagestore package, the builder package builds them, the
// runtime package starts the containers' processes, and the supervise
// package reaps them and keeps them across an engine restart. See
// docs/design.md, "Engine and API".
package engine
