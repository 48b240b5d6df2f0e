package image

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// libDirs are where Debian keeps the shared libraries of amd64 programs.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib"}

// SharedLibraries returns the dynamic loader and every shared library the
// ELF program at path needs, directly or through other libraries, as
// absolute paths on the build machine. A static program needs none.
func SharedLibraries(path string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var visit func(file string) error
	visit = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("image: read %s: %w", file, err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return fmt.Errorf("image: read interpreter of %s: %w", file, err)
			}
			loader := strings.TrimRight(string(b), "\x00")
			if !seen[loader] {
				seen[loader] = true
				out = append(out, loader)
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("image: read libraries of %s: %w", file, err)
		}
		for _, lib := range needed {
			p, err := findLibrary(lib)
			if err != nil {
				return fmt.Errorf("image: %s needs %s: %w", file, lib, err)
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			if err := visit(p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(path); err != nil {
		return nil, err
	}
	return out, nil
}

func findLibrary(soname string) (string, error) {
	for _, d := range libDirs {
		p := filepath.Join(d, soname)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %v (is its Debian package installed? try make deps)", libDirs)
}
