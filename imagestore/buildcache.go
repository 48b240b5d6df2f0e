package imagestore

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"berth/thinpool"
)

// The build cache and the intermediate images, under the image store.

func (s *Store) cachePath() string { return filepath.Join(s.dir, "buildcache.json") }

func (s *Store) readCache() map[string]string {
	m := map[string]string{}
	if b, err := os.ReadFile(s.cachePath()); err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

func (s *Store) Cached(key string) (string, bool) {
	id, ok := s.readCache()[key]
	return id, ok
}

// Cache records id as the image of the step key, unless an image the
// key names already exists: a --no-cache build does not take the cache
// away from the images it was built with.
func (s *Store) Cache(key, id string) error {
	m := s.readCache()
	if old, ok := m[key]; ok {
		if _, err := s.load(old); err == nil {
			return nil
		}
	}
	m[key] = id
	b, _ := json.Marshal(m)
	if err := thinpool.WriteFileDurable(s.cachePath(), b); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}

func (s *Store) intermediatePath(id string) string {
	return filepath.Join(s.dir, "intermediate", strings.TrimPrefix(id, "sha256:"))
}

// MarkIntermediate records id as the image of a build step: berth images
// lists it only with -a.
func (s *Store) MarkIntermediate(id string) error {
	return s.writeRecord(s.intermediatePath(id), nil)
}

// writeRecord writes one of the store's small records durably, making
// its directory when it is the first.
func (s *Store) writeRecord(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if err := thinpool.WriteFileDurable(path, b); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return nil
}

// IsCached reports whether image id is in the build cache.
func (s *Store) IsCached(id string) bool {
	for _, v := range s.readCache() {
		if v == id {
			return true
		}
	}
	return false
}

// TopLayerSize is the size of the layer an image's last step made, 0
// when it made none.
func TopLayerSize(s *Store, img Image) int64 {
	h, d := img.Config.History, img.Config.RootFS.DiffIDs
	if len(d) == 0 || (len(h) > 0 && h[len(h)-1].EmptyLayer) {
		return 0
	}
	return s.LayerSize(d[len(d)-1])
}

// ForgetCache empties the build cache; it returns the images it held.
func (s *Store) ForgetCache() []Image {
	var out []Image
	for _, id := range s.readCache() {
		if img, err := s.Get(id); err == nil && !slices.ContainsFunc(out, func(o Image) bool { return o.ID == img.ID }) {
			out = append(out, img)
		}
	}
	os.Remove(s.cachePath())
	return out
}

// MarkFinal records that id is a build's result, listed by berth images.
func (s *Store) MarkFinal(id string) { os.Remove(s.intermediatePath(id)) }

// SetParent records that id was built on parent, so that removing an
// image removes the build steps' images below it that nothing else uses.
func (s *Store) SetParent(id, parent string) error {
	return s.writeRecord(filepath.Join(s.dir, "parents", strings.TrimPrefix(id, "sha256:")), []byte(parent))
}

// Parent returns the image id was built on, or "".
func (s *Store) Parent(id string) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "parents", strings.TrimPrefix(id, "sha256:")))
	return string(b)
}

// hasChildren reports whether an image was built on id.
func (s *Store) hasChildren(id string) bool {
	files, _ := filepath.Glob(filepath.Join(s.dir, "parents", "*"))
	for _, f := range files {
		if b, _ := os.ReadFile(f); string(b) == id {
			return true
		}
	}
	return false
}

// Intermediate reports whether id is only a build step's image.
func (s *Store) Intermediate(id string) bool {
	_, err := os.Stat(s.intermediatePath(id))
	return err == nil
}

// Descendants are the images built on image id, at any depth.
func (s *Store) Descendants(id string) []string {
	list, _ := s.List()
	var out []string
	for _, img := range list {
		for p := s.Parent(img.ID); p != ""; p = s.Parent(p) {
			if p == id {
				out = append(out, img.ID)
				break
			}
		}
	}
	return out
}
