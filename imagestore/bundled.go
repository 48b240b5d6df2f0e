package imagestore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"berth/thinpool"
)

// The bundled-image record: which of the archives the appliance carries
// (docker save tarballs in hostpath.BundledImages) are loaded, by name
// and digest, so that each is loaded once, on the first boot that has it.

// bundledPath is the record: archive name → digest loaded.
func (s *Store) bundledPath() string { return filepath.Join(s.dir, "bundled.json") }

// LoadBundled loads each archive (*.tar) in dir that the record does not
// hold with the same digest, writing progress to progress, and records it
// once loaded. An archive that fails to load is reported and the others
// are loaded; the error names each failure. A record that cannot be read
// is an error, and nothing is loaded: loading every bundle again could
// bring back images the user deleted.
func (s *Store) LoadBundled(dir string, progress io.Writer) error {
	done := map[string]string{}
	b, err := os.ReadFile(s.bundledPath())
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &done); err != nil {
			return fmt.Errorf("bundled images: %s is corrupt (%v): remove it to load the bundled images again", s.bundledPath(), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("bundled images: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return fmt.Errorf("bundled images: %w", err)
	}
	var errs []error
	for _, f := range files {
		name := filepath.Base(f)
		sum, err := bundleDigest(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("bundled image %s: %w", name, err))
			continue
		}
		if done[name] == sum {
			continue
		}
		fmt.Fprintf(progress, "loading bundled image %s\n", name)
		if _, err := s.LoadArchive(f, progress); err != nil {
			errs = append(errs, fmt.Errorf("bundled image %s: %w", name, err))
			continue
		}
		done[name] = sum
		b, _ := json.Marshal(done)
		if err := thinpool.WriteFileDurable(s.bundledPath(), b); err != nil {
			return fmt.Errorf("bundled images: record %s: %w", name, err)
		}
	}
	return errors.Join(errs...)
}

// bundleDigest is the digest of a bundled archive: the one the image
// build wrote beside it, else computed.
func bundleDigest(path string) (string, error) {
	if b, err := os.ReadFile(path + ".sha256"); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return FileDigest(path)
}

// FileDigest is the hex sha256 of the file at path.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
