package image

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"
)

// Archive collects the files of an initramfs and writes them as a newc cpio
// archive the kernel unpacks as it is. The output is reproducible: entries
// are sorted by path, every parent directory is present before its
// children, and times, owners and inode numbers do not depend on the
// build machine. The same inputs give the same bytes.
type Archive struct {
	records map[string]cpio.Record
}

// NewArchive returns an empty archive.
func NewArchive() *Archive {
	return &Archive{records: map[string]cpio.Record{}}
}

// File adds a regular file with the given content. A later entry for the
// same path replaces an earlier one.
func (a *Archive) File(name string, perm uint64, content []byte) {
	a.add(cpio.StaticRecord(content, cpio.Info{Name: name, Mode: cpio.S_IFREG | perm}))
}

// HostFile adds a copy of the build machine's file src at name, keeping its
// permission bits. Symbolic links in src are followed.
func (a *Archive) HostFile(name, src string) error {
	content, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("image: add %s: %w", name, err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("image: add %s: %w", name, err)
	}
	a.File(name, uint64(fi.Mode().Perm()), content)
	return nil
}

// Symlink adds a symbolic link at name pointing to target.
func (a *Archive) Symlink(name, target string) {
	a.add(cpio.Symlink(name, target))
}

// Dir adds a directory.
func (a *Archive) Dir(name string, perm uint64) {
	a.add(cpio.Directory(name, perm))
}

// CharDev adds a character device node.
func (a *Archive) CharDev(name string, perm, major, minor uint64) {
	a.add(cpio.CharDev(name, perm, major, minor))
}

func (a *Archive) add(r cpio.Record) {
	r.Name = cpio.Normalize(r.Name)
	a.records[r.Name] = r
}

// Has reports whether the archive has an entry at name.
func (a *Archive) Has(name string) bool {
	_, ok := a.records[cpio.Normalize(name)]
	return ok
}

// WriteTo writes the archive, trailer included.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	for name := range a.records {
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := a.records[d]; !ok {
				a.records[d] = cpio.Directory(d, 0o755)
			}
		}
	}
	names := make([]string, 0, len(a.records))
	for name := range a.records {
		names = append(names, name)
	}
	sort.Strings(names)

	cw := &countingWriter{w: w}
	rw := cpio.Newc.Writer(cw)
	for i, name := range names {
		r := cpio.MakeReproducible(a.records[name])
		r.Ino = uint64(i + 1)
		r.NLink = 1
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			r.NLink = 2
		}
		if err := rw.WriteRecord(r); err != nil {
			return cw.n, fmt.Errorf("image: write %s to the initramfs: %w", name, err)
		}
	}
	if err := cpio.WriteTrailer(rw); err != nil {
		return cw.n, fmt.Errorf("image: write initramfs trailer: %w", err)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
