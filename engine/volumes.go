package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stringid"
	"golang.org/x/sys/unix"

	"berth/archive"
	"berth/errdefs"
	"berth/thinpool"
)

// Volumes live as Docker's local volumes do: /var/lib/berth/volumes/NAME,
// holding _data (what containers see) and volume.json (its record). A
// container's anonymous volumes (an image's VOLUME, -v /path) have a
// random id for a name.

// ErrNoSuchVolume is returned for a volume that does not exist.
var ErrNoSuchVolume = errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("no such volume"))

// volumeRecord is a volume's volume.json.
type volumeRecord struct {
	Name      string
	CreatedAt time.Time
	Labels    map[string]string `json:",omitempty"`
	Options   map[string]string `json:",omitempty"`
	Anonymous bool              `json:",omitempty"`
}

var volumeNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func validVolumeName(name string) error {
	if !volumeNameRE.MatchString(name) {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name))
	}
	return nil
}

func (e *Engine) volumesDir() string           { return filepath.Join(e.opts.StateDir, "volumes") }
func (e *Engine) volumeDir(name string) string { return filepath.Join(e.volumesDir(), name) }

// loadVolume reads a volume's record.
func (e *Engine) loadVolume(name string) (volumeRecord, error) {
	b, err := os.ReadFile(filepath.Join(e.volumeDir(name), "volume.json"))
	if err != nil {
		if _, serr := os.Stat(filepath.Join(e.volumeDir(name), "_data")); serr == nil {
			return volumeRecord{Name: name}, nil // made by an earlier berth, before records
		}
		return volumeRecord{}, fmt.Errorf("%w: %s", ErrNoSuchVolume, name)
	}
	var v volumeRecord
	return v, json.Unmarshal(b, &v)
}

// ensureVolume makes the volume name unless it exists, and returns its
// record and whether it is new.
func (e *Engine) ensureVolume(v volumeRecord) (volumeRecord, bool, error) {
	if have, err := e.loadVolume(v.Name); err == nil {
		return have, false, nil
	}
	if err := os.MkdirAll(filepath.Join(e.volumeDir(v.Name), "_data"), 0o755); err != nil {
		return v, false, fmt.Errorf("engine: volume %s: %w", v.Name, err)
	}
	v.CreatedAt = time.Now().UTC()
	b, _ := json.Marshal(v)
	if err := thinpool.WriteFileDurable(filepath.Join(e.volumeDir(v.Name), "volume.json"), b); err != nil {
		return v, false, fmt.Errorf("engine: volume %s: %w", v.Name, err)
	}
	e.eventVolume("create", v.Name)
	return v, true, nil
}

// makeVolumes records a new container's mounts, making its volumes: a
// named one when missing, an anonymous one always. A new or empty volume
// is seeded with what the image has at its path, as Docker does (but with
// nocopy).
func (e *Engine) makeVolumes(c *Container, mounts []container.MountPoint, undo *[]func()) error {
	var root string
	for _, m := range mounts {
		if m.Type != mount.TypeVolume {
			c.Mounts = append(c.Mounts, m)
			continue
		}
		rec := volumeRecord{Name: m.Name}
		if rec.Name == "" {
			rec = volumeRecord{Name: stringid.GenerateRandomID(), Anonymous: true}
		}
		rec, fresh, err := e.ensureVolume(rec)
		if err != nil {
			return err
		}
		if fresh {
			name := rec.Name
			*undo = append(*undo, func() { os.RemoveAll(e.volumeDir(name)) })
		}
		m.Name, m.Source, m.Driver = rec.Name, filepath.Join(e.volumeDir(rec.Name), "_data"), "local"
		c.Mounts = append(c.Mounts, m)
		if m.Mode == "nocopy" || !emptyDir(m.Source) {
			continue
		}
		if root == "" {
			r, unmount, err := e.Images.Mount(c.Id, unix.MS_RDONLY, true)
			if err != nil {
				return err
			}
			defer unmount()
			root = r
		}
		// Resolved inside the image's root: a symlink in the image cannot
		// make berth copy the host's files.
		src, err := securejoin.SecureJoin(root, m.Destination)
		if err != nil {
			return fmt.Errorf("engine: volume %s: %w", m.Destination, err)
		}
		if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
			if err := copyTree(src, m.Source); err != nil {
				return fmt.Errorf("engine: volume %s: copy the image's files: %w", m.Destination, err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			os.Chmod(m.Source, fi.Mode().Perm())
			os.Lchown(m.Source, int(st.Uid), int(st.Gid))
		}
	}
	return nil
}

func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// copyTree copies the tree at src into dst, owners, modes, links and
// attributes kept.
func copyTree(src, dst string) error {
	r, w := io.Pipe()
	go func() { w.CloseWithError(archive.WriteTree(w, src)) }()
	_, err := archive.ExtractTar(dst, r)
	r.CloseWithError(err)
	return err
}

// volumeUsers are the containers that mount volume name.
func (e *Engine) volumeUsers(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for id, en := range e.containers {
		for _, m := range en.c.Mounts {
			if m.Type == mount.TypeVolume && m.Name == name {
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// volumeInfo is a volume as the API shows it.
func (e *Engine) volumeInfo(rec volumeRecord) *volume.Volume {
	v := &volume.Volume{Name: rec.Name, Driver: "local", Mountpoint: filepath.Join(e.volumeDir(rec.Name), "_data"),
		Labels: rec.Labels, Options: rec.Options, Scope: "local"}
	if !rec.CreatedAt.IsZero() {
		v.CreatedAt = rec.CreatedAt.Format(time.RFC3339)
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if rec.Anonymous {
		v.Labels["com.docker.volume.anonymous"] = ""
	}
	return v
}

// VolumeList lists the volumes, filtered by name, label, dangling and
// driver.
func (e *Engine) VolumeList(f filters.Args) ([]*volume.Volume, error) {
	if err := f.Validate(map[string]bool{"name": true, "label": true, "dangling": true, "driver": true}); err != nil {
		return nil, errdefs.Kind(errdefs.ErrInvalid, err)
	}
	entries, _ := os.ReadDir(e.volumesDir())
	var out []*volume.Volume
	for _, d := range entries {
		rec, err := e.loadVolume(d.Name())
		if err != nil {
			continue
		}
		v := e.volumeInfo(rec)
		if f.Contains("name") && !f.Match("name", v.Name) {
			continue
		}
		if f.Contains("label") && !f.MatchKVList("label", v.Labels) {
			continue
		}
		if f.Contains("driver") && !f.ExactMatch("driver", "local") {
			continue
		}
		if f.Contains("dangling") {
			dangling := len(e.volumeUsers(v.Name)) == 0
			if !f.ExactMatch("dangling", fmt.Sprint(dangling)) && !(dangling && f.ExactMatch("dangling", "1")) && !(!dangling && f.ExactMatch("dangling", "0")) {
				continue
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// VolumeCreate makes a named volume (a random name when none is given).
func (e *Engine) VolumeCreate(o volume.CreateOptions) (volume.Volume, error) {
	if o.Driver != "" && o.Driver != "local" {
		return volume.Volume{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("volume driver %s: berth has the local driver only", o.Driver))
	}
	if len(o.DriverOpts) > 0 {
		return volume.Volume{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("volume driver options are not supported: berth's volumes are directories on the state disk"))
	}
	rec := volumeRecord{Name: o.Name, Labels: o.Labels}
	if rec.Name == "" {
		rec.Name, rec.Anonymous = stringid.GenerateRandomID(), true
	} else if err := validVolumeName(rec.Name); err != nil {
		return volume.Volume{}, err
	}
	rec, _, err := e.ensureVolume(rec)
	if err != nil {
		return volume.Volume{}, err
	}
	return *e.volumeInfo(rec), nil
}

// VolumeInspect shows a volume.
func (e *Engine) VolumeInspect(name string) (volume.Volume, error) {
	rec, err := e.loadVolume(name)
	if err != nil {
		return volume.Volume{}, err
	}
	return *e.volumeInfo(rec), nil
}

// VolumeRemove removes a volume no container uses.
func (e *Engine) VolumeRemove(name string, force bool) error {
	if _, err := e.loadVolume(name); err != nil {
		if force {
			return nil
		}
		return err
	}
	if users := e.volumeUsers(name); len(users) > 0 {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("remove %s: volume is in use - [%s]", name, joinIDs(users)))
	}
	if err := os.RemoveAll(e.volumeDir(name)); err != nil {
		return fmt.Errorf("engine: remove volume %s: %w", name, err)
	}
	e.eventVolume("destroy", name)
	return nil
}

// VolumePrune removes the anonymous volumes no container uses (with the
// filter all=true, named ones too), as Docker 23 and later do.
func (e *Engine) VolumePrune(f filters.Args) (volume.PruneReport, error) {
	var rep volume.PruneReport
	all := f.ExactMatch("all", "true") || f.ExactMatch("all", "1")
	f.Del("all", "true")
	f.Del("all", "1")
	list, err := e.VolumeList(filters.NewArgs())
	if err != nil {
		return rep, err
	}
	for _, v := range list {
		_, anon := v.Labels["com.docker.volume.anonymous"]
		if (!anon && !all) || len(e.volumeUsers(v.Name)) > 0 || (f.Contains("label") && !f.MatchKVList("label", v.Labels)) {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := e.VolumeRemove(v.Name, false); err == nil {
			rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
			rep.SpaceReclaimed += uint64(size)
		}
	}
	return rep, nil
}

// dirSize is the bytes of the files below dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}
