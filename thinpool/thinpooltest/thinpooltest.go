// Package thinpooltest gives guest tests a thin pool of their own, as
// httptest gives a server: on sparse loopback files in a directory of the
// test's, removed with it.
package thinpooltest

import (
	"path/filepath"
	"testing"

	"berth/hostpath"
	"berth/thinpool"
)

// Open returns a pool (2 GiB of data, 256 MiB devices) on loopback files
// under a new temporary directory, and that directory, whose pool/
// subdirectory it uses; the pool is shut down when the test ends.
func Open(t testing.TB) (*thinpool.Storage, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := OpenIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Shutdown(); st.Close() })
	return st, dir
}

// OpenIn is Open for a pool that outlives one test (a package's tests
// sharing it): the pool is made in dir/pool, and the caller shuts it
// down.
func OpenIn(dir string) (*thinpool.Storage, error) {
	return thinpool.Open(thinpool.Config{Name: "test-" + filepath.Base(dir), Dir: filepath.Join(dir, "pool"),
		DataSize: 2 << 30, MetadataSize: 64 << 20, BaseSize: 256 << 20, MinFreePercent: 5, Mkfs: hostpath.Mkfs})
}
