package imagestore

import (
	"archive/tar"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/pkg/stringid"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"

	"berth/archive"
	"berth/errdefs"
	"berth/runtime"
	"berth/thinpool"
)

// ErrNoSuchImage is returned for a reference no image has.
var ErrNoSuchImage = errdefs.Kind(errdefs.ErrNotFound, errors.New("No such image"))

// Store keeps images: each layer is a thin snapshot of the layer
// below it with the layer's diff applied, named by its chain ID so that
// images that share layers share devices. The original layer tars are kept
// too, so that save writes back exactly what was loaded.
//
// On disk, under dir:
//
//	repositories.json      name:tag → image id
//	configs/<id>.json      each image's config (Docker's image JSON)
//	layers/<chain id>      marks a layer device as complete
//	blobs/<diff id>        the uncompressed layer tars
type Store struct {
	dir     string
	storage *thinpool.Storage
}

// New returns the store in dir, whose layers live in storage.
func New(dir string, storage *thinpool.Storage) (*Store, error) {
	for _, sub := range []string{"configs", "layers", "blobs", "mnt"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	return &Store{dir: dir, storage: storage}, nil
}

// Image is one image as berth lists it.
type Image struct {
	ID       string // sha256:<hex of the config>
	RepoTags []string
	Config   *v1.ConfigFile
	Size     int64 // uncompressed, all layers
}

// TopLayer is the device name of the image's top layer: a container's
// root is a snapshot of it.
func (i Image) TopLayer() string {
	chain := ""
	for _, d := range i.Config.RootFS.DiffIDs {
		chain = chainID(chain, d.String())
	}
	return layerDevice(chain)
}

// chainID identifies a layer with everything below it, as Docker does:
// the first layer's is its diff id; each next one is the sha256 of
// "<parent chain id> <diff id>".
func chainID(parent, diffID string) string {
	if parent == "" {
		return diffID
	}
	sum := sha256.Sum256([]byte(parent + " " + diffID))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func layerDevice(chain string) string {
	if chain == "" {
		return "" // the base device: an image with no layers
	}
	return "layer-" + strings.TrimPrefix(chain, "sha256:")
}

// NormalizeRef turns a reference as users write it into berth's form:
// repository[:tag], the tag latest when none is given, and Docker Hub's
// implicit prefixes dropped ("busybox", not "index.docker.io/library/busybox").
func NormalizeRef(ref string) (string, error) {
	if strings.HasPrefix(ref, "sha256:") {
		return ref, nil
	}
	r, err := name.ParseReference(ref, name.WithDefaultTag("latest"))
	if err != nil {
		return "", fmt.Errorf("images: %q is not an image reference: %w", ref, err)
	}
	repo := r.Context().RepositoryStr()
	if reg := r.Context().RegistryStr(); reg != name.DefaultRegistry {
		repo = reg + "/" + repo
	} else {
		repo = strings.TrimPrefix(repo, "library/")
	}
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr(), nil
	}
	return repo + ":" + r.Identifier(), nil
}

// repositories reads and, with write, rewrites repositories.json under
// the store's lock.
func (s *Store) repositories(write func(map[string]string) error) (map[string]string, error) {
	lock, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	repos := map[string]string{}
	path := filepath.Join(s.dir, "repositories.json")
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &repos); err != nil {
			return nil, fmt.Errorf("images: %s is corrupt: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("images: %w", err)
	}
	if write == nil {
		return repos, nil
	}
	if err := write(repos); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(repos, "", "  ")
	if err := thinpool.WriteFileDurable(path, b); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return repos, nil
}

// Add stores img under tags: each layer not yet present is extracted onto
// a snapshot of the one below it. progress gets a line per layer.
func (s *Store) Add(img v1.Image, tags []string, progress io.Writer) (string, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return "", fmt.Errorf("images: read config: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("images: parse config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return "", fmt.Errorf("images: the image has %d layers but its config lists %d", len(layers), len(cfg.RootFS.DiffIDs))
	}
	chain := ""
	for i, l := range layers {
		diffID := cfg.RootFS.DiffIDs[i].String()
		parent := chain
		chain = chainID(chain, diffID)
		if err := s.ensureLayer(layerDevice(parent), chain, diffID, l, fmt.Sprintf("layer %d/%d", i+1, len(layers)), progress); err != nil {
			return "", err
		}
	}
	return s.store(raw, tags)
}

// AddStep stores the image a build step made: cfg, whose layers are all
// in the store already but for the top one when top is not nil. Unlike
// Add, it reads no layer but that one, so a step costs the same on a
// large image as on a small one.
func (s *Store) AddStep(cfg *v1.ConfigFile, top v1.Layer) (string, error) {
	if top != nil {
		ids := cfg.RootFS.DiffIDs
		parent := ""
		for _, d := range ids[:len(ids)-1] {
			parent = chainID(parent, d.String())
		}
		diffID := ids[len(ids)-1].String()
		if err := s.ensureLayer(layerDevice(parent), chainID(parent, diffID), diffID, top, "layer", io.Discard); err != nil {
			return "", err
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	return s.store(raw, nil)
}

// store records an image's config, whose layers are in place, and names
// it tags; it returns the image's id, the digest of the config.
func (s *Store) store(raw []byte, tags []string) (string, error) {
	sum := sha256.Sum256(raw)
	id := "sha256:" + hex.EncodeToString(sum[:])
	if err := thinpool.WriteFileDurable(filepath.Join(s.dir, "configs", strings.TrimPrefix(id, "sha256:")+".json"), raw); err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	_, err := s.repositories(func(repos map[string]string) error {
		for _, t := range tags {
			ref, err := NormalizeRef(t)
			if err != nil {
				return err
			}
			repos[ref] = id
		}
		return nil
	})
	return id, err
}

// ensureLayer makes the device of layer chain, a snapshot of parent with
// the layer's diff applied, unless a complete one exists. A device left
// incomplete by a crash or a bad layer is removed.
func (s *Store) ensureLayer(parent, chain, diffID string, l v1.Layer, what string, progress io.Writer) error {
	marker := filepath.Join(s.dir, "layers", strings.TrimPrefix(chain, "sha256:"))
	if _, err := os.Stat(marker); err == nil {
		fmt.Fprintf(progress, "%s %s: already present\n", what, stringid.TruncateID(diffID))
		return nil
	}
	dev := layerDevice(chain)
	s.storage.Remove(dev) // an incomplete one; an error just means there was none
	if err := s.storage.Create(dev, parent); err != nil {
		return fmt.Errorf("images: %s: %w", what, err)
	}
	start := time.Now()
	n, err := s.extract(dev, diffID, l)
	if err != nil {
		s.storage.Remove(dev)
		return fmt.Errorf("images: %s %s: %w", what, stringid.TruncateID(diffID), err)
	}
	if err := thinpool.WriteFileDurable(marker, []byte(diffID)); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	fmt.Fprintf(progress, "%s %s: %.1f MB in %.1f s\n", what, stringid.TruncateID(diffID), float64(n)/1e6, time.Since(start).Seconds())
	return nil
}

// extract mounts dev and applies the layer onto it, keeping the tar as a
// blob and checking that its digest is the diff id the image claims.
func (s *Store) extract(dev, diffID string, l v1.Layer) (int64, error) {
	mnt, unmount, err := s.Mount(dev, 0, true)
	if err != nil {
		return 0, err
	}
	defer unmount()
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	blob := filepath.Join(s.dir, "blobs", strings.TrimPrefix(diffID, "sha256:"))
	tmp, err := os.Create(blob + ".tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := archive.ApplyLayer(mnt, io.TeeReader(rc, io.MultiWriter(h, tmp)))
	if err == nil {
		_, err = io.Copy(io.MultiWriter(h, tmp), rc) // tar padding after the last entry
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return n, fmt.Errorf("the layer's content has digest %s, not %s: the archive is damaged", stringid.TruncateID(got), stringid.TruncateID(diffID))
	}
	if err := syncfs(mnt); err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), blob)
}

// Mount activates the thin device dev and mounts its ext4 filesystem
// with flags on a new directory under mnt/; the returned func unmounts it,
// removes the directory and, with deactivate, deactivates the device (not
// for a running container's root, which stays in use).
func (s *Store) Mount(dev string, flags uintptr, deactivate bool) (string, func(), error) {
	return s.MountLabelled(dev, flags, deactivate, "")
}

// MountLabelled is mount with an SELinux mount label: a device a running
// container has mounted must be mounted again with its label, or the
// kernel refuses the second mount.
func (s *Store) MountLabelled(dev string, flags uintptr, deactivate bool, mountLabel string) (string, func(), error) {
	path, err := s.storage.Activate(dev)
	if err != nil {
		return "", nil, err
	}
	undo := func() {
		if deactivate {
			s.storage.Deactivate(dev)
		}
	}
	dir, err := os.MkdirTemp(filepath.Join(s.dir, "mnt"), "dev-")
	if err != nil {
		undo()
		return "", nil, err
	}
	if err := unix.Mount(path, dir, "ext4", flags, label.FormatMountLabel("", mountLabel)); err != nil {
		os.Remove(dir)
		undo()
		return "", nil, fmt.Errorf("mount %s: %w", dev, err)
	}
	return dir, func() {
		// A file of it still open somewhere must not keep it mounted for
		// good, and its device busy: detached, it goes with the last.
		if unix.Unmount(dir, 0) != nil {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
		os.Remove(dir)
		undo()
	}, nil
}

// syncfs flushes the filesystem mounted at dir to its device.
func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// imageOf assembles an image from a config and its layers.
func imageOf(cfg *v1.ConfigFile, layers []v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return mutate.ConfigFile(img, cfg)
}

func gunzip(r io.Reader) (io.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return zr, nil
}

// LoadArchive loads every image of a docker save tarball or an OCI image
// layout (a directory, or a tar of one), gzip-compressed or not.
func (s *Store) LoadArchive(path string, progress io.Writer) ([]string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return s.loadLayout(path, progress)
	}
	plain, cleanup, err := decompressed(path)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	members, err := tarMembers(plain)
	if err != nil {
		return nil, fmt.Errorf("images: %s is not an image archive: %w", path, err)
	}
	if members["manifest.json"] {
		return s.loadDockerSave(plain, progress)
	}
	if members["oci-layout"] && members["index.json"] {
		dir, err := os.MkdirTemp(filepath.Join(s.dir, "mnt"), "oci-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		f, err := os.Open(plain)
		if err != nil {
			return nil, err
		}
		_, err = archive.ExtractTar(dir, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("images: unpack OCI layout: %w", err)
		}
		return s.loadLayout(dir, progress)
	}
	return nil, fmt.Errorf("images: %s has neither manifest.json (docker save) nor oci-layout and index.json (OCI); for a flat root filesystem use berth import", path)
}

func (s *Store) loadDockerSave(path string, progress io.Writer) ([]string, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("images: read manifest.json: %w", err)
	}
	var loaded []string
	for i, entry := range manifest {
		img, err := tarball.Image(opener, nil)
		if len(manifest) > 1 || len(entry.RepoTags) > 0 {
			if len(entry.RepoTags) == 0 {
				return loaded, fmt.Errorf("images: image %d of the archive has no tag", i+1)
			}
			tag, terr := name.NewTag(entry.RepoTags[0])
			if terr != nil {
				return loaded, terr
			}
			img, err = tarball.Image(opener, &tag)
		}
		if err != nil {
			return loaded, fmt.Errorf("images: %w", err)
		}
		fmt.Fprintf(progress, "Loading %s\n", strings.Join(entry.RepoTags, ", "))
		id, err := s.Add(img, entry.RepoTags, progress)
		if err != nil {
			return loaded, err
		}
		loaded = append(loaded, append(entry.RepoTags, id)[0])
	}
	return loaded, nil
}

func (s *Store) loadLayout(dir string, progress io.Writer) ([]string, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var loaded []string
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return loaded, fmt.Errorf("images: %w", err)
		}
		var tags []string
		if ref := desc.Annotations["io.containerd.image.name"]; ref != "" {
			tags = append(tags, ref)
		} else if ref := desc.Annotations["org.opencontainers.image.ref.name"]; ref != "" {
			if strings.ContainsAny(ref, ":/") {
				tags = append(tags, ref)
			}
		}
		fmt.Fprintf(progress, "Loading %s\n", append(tags, desc.Digest.String())[0])
		id, err := s.Add(img, tags, progress)
		if err != nil {
			return loaded, err
		}
		loaded = append(loaded, append(tags, id)[0])
	}
	return loaded, nil
}

// Import makes a one-layer image of a flat root filesystem tar (docker
// import), tagged ref when ref is not "".
func (s *Store) Import(r io.Reader, ref string, edit func(*v1.ConfigFile) error, progress io.Writer) (string, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "mnt"), "import-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return "", fmt.Errorf("images: read the archive: %w", err)
	}
	tmp.Close()
	if id, ok, err := s.importSaved(tmp.Name(), ref, progress); ok {
		return id, err
	}
	cfg := &v1.ConfigFile{Architecture: "amd64", OS: "linux", Created: v1.Time{Time: time.Now().UTC()},
		RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{Env: []string{"PATH=" + runtime.DefaultPath}}}
	if edit != nil {
		if err := edit(cfg); err != nil {
			return "", err
		}
	}
	fmt.Fprintln(progress, "importing the root filesystem")
	id, err := s.AddLayerFile(cfg, tmp.Name())
	if err != nil {
		return "", err
	}
	if ref != "" {
		err = s.Tag(id, ref)
	}
	return id, err
}

// AddLayerFile stores an image of cfg, whose layers are in the store,
// with the uncompressed layer tar at layerPath on top: a commit, an
// import, a build step. It returns the image's id.
func (s *Store) AddLayerFile(cfg *v1.ConfigFile, layerPath string) (string, error) {
	l, err := tarball.LayerFromFile(layerPath)
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	d, err := l.DiffID()
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d)
	return s.AddStep(cfg, l)
}

// importSaved handles the classic walkthrough's habit of importing what
// save wrote: an image archive (docker save or OCI) is loaded with its
// config and layers, tagged ref too, instead of being taken for a root
// filesystem. ok says whether path was such an archive.
func (s *Store) importSaved(path, ref string, progress io.Writer) (id string, ok bool, err error) {
	members, err := tarMembers(path)
	if err != nil || !(members["manifest.json"] || members["oci-layout"] && members["index.json"]) {
		return "", false, nil
	}
	fmt.Fprintln(progress, "This is an image archive (written by berth save or docker save), not a root filesystem: importing the saved image with its config and layers. berth load -i FILE is the direct way.")
	loaded, err := s.LoadArchive(path, progress)
	if err != nil {
		return "", true, err
	}
	if len(loaded) == 0 {
		return "", true, errors.New("images: the archive holds no image")
	}
	img, err := s.Get(loaded[0])
	if err != nil {
		return "", true, err
	}
	if ref != "" {
		if err := s.Tag(img.ID, ref); err != nil {
			return "", true, err
		}
	}
	return img.ID, true, nil
}

// OpenArchive opens a tar archive, plain or compressed with gzip or
// bzip2 (told by its first bytes), and says whether it was compressed.
func OpenArchive(p string) (r io.Reader, closeFn func(), compressed bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, false, fmt.Errorf("images: %w", err)
	}
	magic := make([]byte, 3)
	n, _ := io.ReadFull(f, magic)
	f.Seek(0, io.SeekStart)
	closeFn = func() { f.Close() }
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gunzip(f)
		if err != nil {
			f.Close()
			return nil, nil, false, err
		}
		return zr, closeFn, true, nil
	case n == 3 && string(magic) == "BZh":
		return bzip2.NewReader(f), closeFn, true, nil
	}
	return f, closeFn, false, nil
}

// decompressed returns a path to the plain tar of path, decompressing a
// compressed archive into a temporary file.
func decompressed(path string) (string, func(), error) {
	r, closeFn, compressed, err := OpenArchive(path)
	if err != nil {
		return "", nil, err
	}
	defer closeFn()
	if !compressed {
		return path, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "berth-load-")
	if err != nil {
		return "", nil, err
	}
	_, err = io.Copy(tmp, r)
	tmp.Close()
	if err != nil {
		os.Remove(tmp.Name())
		return "", nil, fmt.Errorf("images: decompress %s: %w", path, err)
	}
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}

// tarMembers lists the top-level files of a tar archive, plain or
// compressed.
func tarMembers(path string) (map[string]bool, error) {
	r, closeFn, _, err := OpenArchive(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	out := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(hdr.Name, "./")] = true
	}
}

// List returns every image, newest first.
func (s *Store) List() ([]Image, error) {
	repos, err := s.repositories(nil)
	if err != nil {
		return nil, err
	}
	tags := map[string][]string{}
	for ref, id := range repos {
		tags[id] = append(tags[id], ref)
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "configs", "*.json"))
	var out []Image
	for _, f := range files {
		id := "sha256:" + strings.TrimSuffix(filepath.Base(f), ".json")
		img, err := s.load(id)
		if err != nil {
			return nil, err
		}
		img.RepoTags = tags[id]
		sort.Strings(img.RepoTags)
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Config.Created.After(out[j].Config.Created.Time) })
	return out, nil
}

func (s *Store) load(id string) (Image, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "configs", strings.TrimPrefix(id, "sha256:")+".json"))
	if err != nil {
		return Image{}, fmt.Errorf("%w: %s", ErrNoSuchImage, id)
	}
	cfg := &v1.ConfigFile{}
	if err := json.Unmarshal(b, cfg); err != nil {
		return Image{}, fmt.Errorf("images: config of %s: %w", stringid.TruncateID(id), err)
	}
	img := Image{ID: id, Config: cfg}
	for _, d := range cfg.RootFS.DiffIDs {
		img.Size += s.LayerSize(d)
	}
	return img, nil
}

// LayerSize is the size of the layer whose uncompressed digest is
// diffID, 0 when the store does not hold it.
func (s *Store) LayerSize(diffID v1.Hash) int64 {
	if fi, err := os.Stat(filepath.Join(s.dir, "blobs", diffID.Hex)); err == nil {
		return fi.Size()
	}
	return 0
}

// TempFile is a new file for work in progress (an upload, a layer being
// written), on the state disk beside the store; the caller removes it.
func (s *Store) TempFile(prefix string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(s.dir, "mnt"), prefix)
}

// TempDir is TempFile's directory counterpart.
func (s *Store) TempDir(prefix string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.dir, "mnt"), prefix)
}

// Get finds an image by name[:tag], full id, or an unambiguous id prefix.
func (s *Store) Get(ref string) (Image, error) {
	repos, err := s.repositories(nil)
	if err != nil {
		return Image{}, err
	}
	if norm, err := NormalizeRef(ref); err == nil {
		if id, ok := repos[norm]; ok {
			img, err := s.load(id)
			img.RepoTags = tagsOf(repos, id)
			return img, err
		}
	}
	prefix := strings.TrimPrefix(ref, "sha256:")
	if len(prefix) >= 4 && isHex(prefix) {
		files, _ := filepath.Glob(filepath.Join(s.dir, "configs", prefix+"*.json"))
		if len(files) == 1 {
			id := "sha256:" + strings.TrimSuffix(filepath.Base(files[0]), ".json")
			img, err := s.load(id)
			img.RepoTags = tagsOf(repos, id)
			return img, err
		}
		if len(files) > 1 {
			return Image{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("images: %q matches %d images; give more of the id", ref, len(files)))
		}
	}
	return Image{}, fmt.Errorf("%w: %s", ErrNoSuchImage, ref)
}

func tagsOf(repos map[string]string, id string) []string {
	var out []string
	for ref, i := range repos {
		if i == id {
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2))
	return err == nil
}

// Tag gives the image src the name dst too.
func (s *Store) Tag(src, dst string) error {
	img, err := s.Get(src)
	if err != nil {
		return err
	}
	norm, err := NormalizeRef(dst)
	if err != nil {
		return err
	}
	_, err = s.repositories(func(repos map[string]string) error {
		repos[norm] = img.ID
		return nil
	})
	return err
}

// chains lists the chain ids of an image's layers, bottom first.
func (i Image) chains() []string {
	var out []string
	chain := ""
	for _, d := range i.Config.RootFS.DiffIDs {
		chain = chainID(chain, d.String())
		out = append(out, chain)
	}
	return out
}

// Untag removes the name ref; it reports whether the image has no name
// left.
func (s *Store) Untag(ref string) (bool, error) {
	norm, err := NormalizeRef(ref)
	if err != nil {
		return false, err
	}
	var id string
	repos, err := s.repositories(func(repos map[string]string) error {
		id = repos[norm]
		delete(repos, norm)
		return nil
	})
	if err != nil {
		return false, err
	}
	return len(tagsOf(repos, id)) == 0, nil
}

// Delete removes an image and every layer no other image uses; it
// returns the chain ids of the layers it removed.
func (s *Store) Delete(img Image) ([]string, error) {
	_, err := s.repositories(func(repos map[string]string) error {
		for ref, id := range repos {
			if id == img.ID {
				delete(repos, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(s.dir, "configs", strings.TrimPrefix(img.ID, "sha256:")+".json")); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	s.setDigests(img.ID, nil)
	os.Remove(filepath.Join(s.dir, "parents", strings.TrimPrefix(img.ID, "sha256:")))
	os.Remove(s.intermediatePath(img.ID))
	used := map[string]bool{}     // chain ids: layer devices
	usedDiff := map[string]bool{} // diff ids: blobs, which images with different lower layers can share
	others, _ := s.List()
	for _, o := range others {
		for _, c := range o.chains() {
			used[c] = true
		}
		for _, d := range o.Config.RootFS.DiffIDs {
			usedDiff[d.Hex] = true
		}
	}
	chains := img.chains()
	var removed []string
	for i := len(chains) - 1; i >= 0; i-- {
		c := chains[i]
		if used[c] {
			continue
		}
		if err := s.storage.Remove(layerDevice(c)); err != nil {
			return removed, err
		}
		removed = append(removed, c)
		os.Remove(filepath.Join(s.dir, "layers", strings.TrimPrefix(c, "sha256:")))
		if d := img.Config.RootFS.DiffIDs[i].Hex; !usedDiff[d] {
			os.Remove(filepath.Join(s.dir, "blobs", d))
		}
	}
	return removed, nil
}

// Save writes the images named by refs as one docker save tarball, which
// berth and docker load again: the layers are the tars they were loaded
// from.
func (s *Store) Save(refs []string, w io.Writer) error {
	byRef := map[name.Reference]v1.Image{}
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return err
		}
		out, err := s.v1Image(img)
		if err != nil {
			return err
		}
		// Named by one of its tags: saved under that tag; by id: under all.
		tags := img.RepoTags
		if norm, err := NormalizeRef(ref); err == nil && slices.Contains(img.RepoTags, norm) {
			tags = []string{norm}
		}
		for _, t := range tags {
			tag, err := name.NewTag(t)
			if err != nil {
				return err
			}
			byRef[tag] = out
		}
		if len(tags) == 0 {
			d, err := out.Digest()
			if err != nil {
				return err
			}
			dig, err := name.NewDigest("untagged@" + d.String())
			if err != nil {
				return err
			}
			byRef[dig] = out
		}
	}
	return tarball.MultiRefWrite(byRef, w)
}

// v1Image is a stored image as go-containerregistry's: its config and
// its layers, the tars it was loaded from.
func (s *Store) v1Image(img Image) (v1.Image, error) {
	var layers []v1.Layer
	for _, d := range img.Config.RootFS.DiffIDs {
		l, err := tarball.LayerFromFile(filepath.Join(s.dir, "blobs", d.Hex))
		if err != nil {
			return nil, fmt.Errorf("images: layer %s of %s: %w", stringid.TruncateID(d.String()), stringid.TruncateID(img.ID), err)
		}
		layers = append(layers, l)
	}
	return imageOf(img.Config, layers)
}

// Registry is how the store reaches registries: the transport (with the
// host's proxy settings) and the credentials of one request.
type Registry struct {
	Transport http.RoundTripper
	Auth      authn.Authenticator // nil: anonymous
}

func (r Registry) options() []remote.Option {
	opts := []remote.Option{remote.WithAuth(authn.Anonymous)}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	if r.Auth != nil {
		opts[0] = remote.WithAuth(r.Auth)
	}
	return opts
}

// Pull fetches ref from its registry and stores it under ref; it returns
// the image's id and the manifest's digest.
func (s *Store) Pull(ref string, reg Registry, progress io.Writer) (string, string, error) {
	norm, err := NormalizeRef(ref)
	if err != nil {
		return "", "", errdefs.Kind(errdefs.ErrInvalid, err)
	}
	r, err := name.ParseReference(ref, name.WithDefaultTag("latest"))
	if err != nil {
		return "", "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", ref))
	}
	fmt.Fprintf(progress, "Pulling %s from %s\n", norm, r.Context().RegistryStr())
	img, err := remote.Image(r, reg.options()...)
	if err != nil {
		return "", "", reg.refusal("pull", norm, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", "", fmt.Errorf("images: pull %s: %w", norm, err)
	}
	var tags []string
	if !strings.Contains(norm, "@") {
		tags = []string{norm}
	}
	id, err := s.Add(img, tags, progress)
	if err != nil {
		return "", "", err
	}
	repo, _, _ := strings.Cut(norm, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	s.addDigest(id, repo+"@"+digest.String())
	return id, digest.String(), nil
}

// Push sends the image named ref to its registry; it returns the
// manifest's digest.
func (s *Store) Push(ref string, reg Registry, progress io.Writer) (string, error) {
	img, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	norm, _ := NormalizeRef(ref)
	r, err := name.ParseReference(norm, name.WithDefaultTag("latest"))
	if err != nil {
		return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", ref))
	}
	out, err := s.v1Image(img)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "The push refers to repository [%s]\n", r.Context().Name())
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := int64(-1)
		for u := range updates {
			if u.Total > 0 && (u.Complete == u.Total || u.Complete-last > u.Total/4) {
				last = u.Complete
				fmt.Fprintf(progress, "pushed %.1f of %.1f MB\n", float64(u.Complete)/1e6, float64(u.Total)/1e6)
			}
		}
	}()
	err = remote.Write(r, out, append(reg.options(), remote.WithProgress(updates))...)
	<-done
	if err != nil {
		return "", reg.refusal("push", norm, err)
	}
	digest, err := out.Digest()
	if err != nil {
		return "", err
	}
	s.addDigest(img.ID, r.Context().Name()+"@"+digest.String())
	return digest.String(), nil
}

// refusal is a registry's refusal as Docker words it, with its kind:
// unauthorized, not found, or the registry unreachable.
func (r Registry) refusal(verb, ref string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			if r.Auth == nil {
				return errdefs.Kind(errdefs.ErrUnauthorized, fmt.Errorf("%s %s: no basic auth credentials (docker login to the registry first)", verb, ref))
			}
			return errdefs.Kind(errdefs.ErrUnauthorized, fmt.Errorf("%s access to %s denied: %v", verb, ref, err))
		case http.StatusNotFound:
			return errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("manifest for %s not found: manifest unknown: %v", ref, err))
		}
	}
	return errdefs.Kind(errdefs.ErrUnavailable, fmt.Errorf("images: %s %s: %w", verb, ref, err))
}

// digestsPath holds the registry digests of images pulled or pushed:
// image id → repository@sha256:... (docker images --digests).
func (s *Store) digestsPath() string { return filepath.Join(s.dir, "repodigests.json") }

func (s *Store) readDigests() map[string][]string {
	m := map[string][]string{}
	if b, err := os.ReadFile(s.digestsPath()); err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

// RepoDigests are the registry digests of image id.
func (s *Store) RepoDigests(id string) []string { return s.readDigests()[id] }

func (s *Store) addDigest(id, d string) {
	have := s.RepoDigests(id)
	if !slices.Contains(have, d) {
		s.setDigests(id, append(have, d))
	}
}

func (s *Store) setDigests(id string, ds []string) {
	s.repositories(func(map[string]string) error { // under the store's lock
		m := s.readDigests()
		if len(ds) == 0 {
			if _, ok := m[id]; !ok {
				return nil
			}
			delete(m, id)
		} else {
			m[id] = ds
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		return thinpool.WriteFileDurable(s.digestsPath(), b)
	})
}
