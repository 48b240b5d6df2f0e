// Package thinpool drives a device-mapper thin pool from Go through
// /dev/mapper/control: the pool on block devices or sparse loopback files,
// thin devices and their snapshots, and the metadata that makes every step
// recoverable after a crash. See docs/design.md, "Storage".
package thinpool
