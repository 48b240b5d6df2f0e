package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/storage"
	"github.com/docker/docker/pkg/stringid"
	"github.com/google/go-containerregistry/pkg/authn"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"berth/api"
	"berth/errdefs"
	"berth/imagestore"
)

// This file is the image store (package imagestore) as Docker's API
// shows it: images, inspect, history, rmi, tag, load, save, pull, push,
// search and prune, with what only the engine knows: which containers
// use an image.

// imageFilters are the filters docker images takes.
var imageFilters = map[string]bool{"dangling": true, "label": true, "before": true, "since": true, "reference": true, "until": true}

// ImageList is docker images: the images, newest first; without All, not
// those that are only the steps of another (untagged, with children).
func (e *Engine) ImageList(o image.ListOptions) ([]image.Summary, error) {
	f := o.Filters
	for _, k := range f.Keys() {
		if !imageFilters[k] {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	dangling, err := boolFilter(f, "dangling")
	if err != nil {
		return nil, err
	}
	var before, since time.Time
	for key, at := range map[string]*time.Time{"before": &before, "since": &since} {
		for _, ref := range f.Get(key) {
			img, err := e.Images.Get(ref)
			if err != nil {
				return nil, err
			}
			*at = img.Config.Created.Time
		}
	}
	until, err := untilFilter(f)
	if err != nil {
		return nil, err
	}
	list, err := e.Images.List()
	if err != nil {
		return nil, err
	}
	parents := map[string]bool{}
	for _, img := range list {
		parents[e.Images.Parent(img.ID)] = true
	}
	out := []image.Summary{}
	for _, img := range list {
		untagged := len(img.RepoTags) == 0
		if !o.All && untagged && parents[img.ID] && !f.Contains("dangling") {
			continue
		}
		if dangling != nil && *dangling != (untagged && !parents[img.ID]) {
			continue
		}
		created := img.Config.Created.Time
		if (!before.IsZero() && !created.Before(before)) || (!since.IsZero() && !created.After(since)) || (!until.IsZero() && created.After(until)) {
			continue
		}
		if !f.MatchKVList("label", img.Config.Config.Labels) {
			continue
		}
		tags := img.RepoTags
		if f.Contains("reference") {
			tags = slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return !matchReference(f.Get("reference"), t) })
			if len(tags) == 0 {
				continue
			}
		}
		out = append(out, e.imageSummary(img, tags))
	}
	return out, nil
}

// imageSummary is img as docker images lists it; API 1.41's clients read
// <none> for what has no name.
func (e *Engine) imageSummary(img imagestore.Image, tags []string) image.Summary {
	s := image.Summary{ID: img.ID, ParentID: e.Images.Parent(img.ID), RepoTags: tags, RepoDigests: e.Images.RepoDigests(img.ID),
		Created: img.Config.Created.Unix(), Size: img.Size, VirtualSize: img.Size, SharedSize: -1, Containers: -1,
		Labels: img.Config.Config.Labels}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if len(s.RepoTags) == 0 && len(s.RepoDigests) == 0 {
		s.RepoTags, s.RepoDigests = []string{"<none>:<none>"}, []string{"<none>@<none>"}
	}
	if s.RepoTags == nil {
		s.RepoTags = []string{}
	}
	if s.RepoDigests == nil {
		s.RepoDigests = []string{}
	}
	return s
}

// matchReference reports whether tag (repo:tag) matches one of the
// patterns of --filter reference (busybox, busybox:*, */app:1.0).
func matchReference(patterns []string, tag string) bool {
	repo := tag
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		repo = tag[:i]
	}
	for _, p := range patterns {
		for _, candidate := range []string{tag, repo} {
			if ok, _ := filepath.Match(p, candidate); ok {
				return true
			}
		}
	}
	return false
}

// boolFilter reads a true/false filter; nil when absent.
func boolFilter(f filters.Args, key string) (*bool, error) {
	if !f.Contains(key) {
		return nil, nil
	}
	switch {
	case f.ExactMatch(key, "true") || f.ExactMatch(key, "1"):
		t := true
		return &t, nil
	case f.ExactMatch(key, "false") || f.ExactMatch(key, "0"):
		t := false
		return &t, nil
	}
	return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s=%s'", key, strings.Join(f.Get(key), ",")))
}

// untilFilter reads the until filter of prunes and lists (a time or a
// duration before now).
func untilFilter(f filters.Args) (time.Time, error) {
	vs := f.Get("until")
	if len(vs) == 0 {
		return time.Time{}, nil
	}
	if len(vs) > 1 {
		return time.Time{}, errdefs.Kind(errdefs.ErrInvalid, errors.New("more than one until filter specified"))
	}
	return api.ParseTime(vs[0])
}

// ImageInspect is docker inspect of an image.
func (e *Engine) ImageInspect(ref string) (image.InspectResponse, error) {
	img, err := e.Images.Get(ref)
	if err != nil {
		return image.InspectResponse{}, err
	}
	cfg := img.Config
	var conf dockerspec.DockerOCIImageConfig
	if b, err := json.Marshal(cfg.Config); err == nil {
		json.Unmarshal(b, &conf)
	}
	var containerConfig container.Config
	if b, err := json.Marshal(cfg.Config); err == nil {
		json.Unmarshal(b, &containerConfig)
	}
	out := image.InspectResponse{ID: img.ID, RepoTags: img.RepoTags, RepoDigests: e.Images.RepoDigests(img.ID),
		Parent: e.Images.Parent(img.ID), Created: dockerTime(cfg.Created.Time), Container: cfg.Container,
		ContainerConfig: &containerConfig, DockerVersion: cfg.DockerVersion, Author: cfg.Author, Config: &conf,
		Architecture: cfg.Architecture, Variant: cfg.Variant, Os: cfg.OS, OsVersion: cfg.OSVersion, Size: img.Size,
		VirtualSize: img.Size, RootFS: image.RootFS{Type: "layers"},
		GraphDriver: storage.DriverData{Name: "devicemapper", Data: map[string]string{"DeviceName": e.opts.Storage.DeviceName(img.TopLayer())}}}
	if len(cfg.History) > 0 {
		out.Comment = cfg.History[len(cfg.History)-1].Comment
	}
	if d, err := e.opts.Storage.Device(img.TopLayer()); err == nil {
		out.GraphDriver.Data["DeviceId"] = fmt.Sprint(d.ID)
		out.GraphDriver.Data["DeviceSize"] = fmt.Sprint(d.Size)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		out.RootFS.Layers = append(out.RootFS.Layers, d.String())
	}
	if out.RepoTags == nil {
		out.RepoTags = []string{}
	}
	if out.RepoDigests == nil {
		out.RepoDigests = []string{}
	}
	return out, nil
}

// ImageHistory is docker history: the image's steps, newest first, each
// with the size of the layer it made; a step is named by the image it
// made when that image is here.
func (e *Engine) ImageHistory(ref string) ([]image.HistoryResponseItem, error) {
	img, err := e.Images.Get(ref)
	if err != nil {
		return nil, err
	}
	// The images of the chain of parents, by how many steps they have.
	chain := map[int]imagestore.Image{len(img.Config.History): img}
	for p := e.Images.Parent(img.ID); p != ""; p = e.Images.Parent(p) {
		pi, err := e.Images.Get(p)
		if err != nil {
			break
		}
		chain[len(pi.Config.History)] = pi
	}
	diffs := img.Config.RootFS.DiffIDs
	layer := 0
	var out []image.HistoryResponseItem
	for i, h := range img.Config.History {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if !h.Created.IsZero() {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && layer < len(diffs) {
			item.Size = e.Images.LayerSize(diffs[layer])
			layer++
		}
		if ci, ok := chain[i+1]; ok {
			item.ID, item.Tags = ci.ID, ci.RepoTags
		}
		out = append(out, item)
	}
	if len(img.Config.History) == 0 {
		out = append(out, image.HistoryResponseItem{ID: img.ID, Created: img.Config.Created.Unix(), Size: img.Size, Tags: img.RepoTags})
	}
	slices.Reverse(out)
	return out, nil
}

// children are the images whose parent is id.
func (e *Engine) children(id string) []string {
	list, _ := e.Images.List()
	var out []string
	for _, img := range list {
		if e.Images.Parent(img.ID) == id {
			out = append(out, img.ID)
		}
	}
	return out
}

// imageConflict is Docker's refusal to delete an image: hard when force
// does not help.
func imageConflict(id string, hard bool, message string) error {
	force := "must be forced"
	if hard {
		force = "cannot be forced"
	}
	return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("conflict: unable to delete %s (%s) - %s", stringid.TruncateID(id), force, message))
}

// ImageRemove is docker rmi, as Docker's: a name of an image with other
// names is only untagged; the last name, or the id, deletes the image and
// then, unless told not to, its parents that nothing else holds. An
// image a container uses is refused unless forced (a running container's
// always), an image with children always.
func (e *Engine) ImageRemove(ref string, o image.RemoveOptions) ([]image.DeleteResponse, error) {
	img, err := e.Images.Get(ref)
	if err != nil {
		return nil, err
	}
	out := []image.DeleteResponse{}
	byID := strings.HasPrefix(img.ID, "sha256:"+strings.TrimPrefix(ref, "sha256:")) && !slices.Contains(img.RepoTags, mustNormalize(ref))
	user := func(running bool) string {
		for _, c := range e.List(true) {
			if c.Image == img.ID && (!running || c.State.Running) {
				return c.Id
			}
		}
		return ""
	}
	quiet := false
	if !byID {
		norm := mustNormalize(ref)
		if !o.Force && len(img.RepoTags) <= 1 {
			if c := user(false); c != "" {
				return nil, errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
					ref, stringid.TruncateID(c), stringid.TruncateID(img.ID)))
			}
		}
		last, err := e.Images.Untag(norm)
		if err != nil {
			return nil, err
		}
		out = append(out, image.DeleteResponse{Untagged: norm})
		e.eventImage("untag", img.ID)
		if !last {
			return out, nil
		}
		quiet = true
	} else if len(img.RepoTags) > 1 && !o.Force {
		return nil, imageConflict(img.ID, false, "image is referenced in multiple repositories")
	}
	return e.deleteImage(img.ID, o.Force, o.PruneChildren, quiet, out)
}

// deleteImage deletes image id after its names, as Docker's delete
// helper: refused for children or a running container, and for a stopped
// container unless force; quiet (a parent being pruned, or an image whose
// last name went) stops silently at a conflict the user did not ask about.
func (e *Engine) deleteImage(id string, force, prune, quiet bool, out []image.DeleteResponse) ([]image.DeleteResponse, error) {
	img, err := e.Images.Get(id)
	if err != nil {
		return out, err
	}
	conflict := func() (hard, used bool, msg string) {
		if len(e.children(id)) > 0 {
			return true, false, "image has dependent child images"
		}
		for _, c := range e.List(true) {
			if c.Image == id && c.State.Running {
				return true, true, "image is being used by running container " + stringid.TruncateID(c.Id)
			}
		}
		if force {
			return false, false, ""
		}
		for _, c := range e.List(true) {
			if c.Image == id {
				return false, true, "image is being used by stopped container " + stringid.TruncateID(c.Id)
			}
		}
		return false, false, ""
	}
	if hard, used, msg := conflict(); msg != "" {
		dangling := len(img.RepoTags) == 0 && len(e.children(id)) == 0
		if quiet && (!dangling || used) {
			return out, nil
		}
		return out, imageConflict(id, hard, msg)
	}
	parent := e.Images.Parent(id)
	for _, t := range img.RepoTags {
		if _, err := e.Images.Untag(t); err != nil {
			return out, err
		}
		out = append(out, image.DeleteResponse{Untagged: t})
	}
	removed, err := e.Images.Delete(img)
	if err != nil {
		return out, err
	}
	e.eventImage("delete", id)
	out = append(out, image.DeleteResponse{Deleted: id})
	for _, c := range removed {
		out = append(out, image.DeleteResponse{Deleted: c})
	}
	if !prune || parent == "" {
		return out, nil
	}
	if p, err := e.Images.Get(parent); err != nil || len(p.RepoTags) > 0 {
		return out, nil
	}
	return e.deleteImage(parent, false, true, true, out)
}

// mustNormalize is imagestore.NormalizeRef, or ref itself when it is no reference.
func mustNormalize(ref string) string {
	if n, err := imagestore.NormalizeRef(ref); err == nil {
		return n
	}
	return ref
}

// ImageTag is docker tag.
func (e *Engine) ImageTag(src, repo, tag string) error {
	if repo == "" {
		return errdefs.Kind(errdefs.ErrInvalid, errors.New("repository name must have at least one component"))
	}
	dst := repo
	if tag != "" {
		dst += ":" + tag
	}
	norm, err := imagestore.NormalizeRef(dst)
	if err != nil || strings.Contains(norm, "@") || strings.HasPrefix(dst, "sha256:") {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", dst))
	}
	if err := e.Images.Tag(src, norm); err != nil {
		return err
	}
	img, _ := e.Images.Get(norm)
	e.eventImage("tag", img.ID)
	return nil
}

// ImageLoad is docker load: a docker save tarball or an OCI layout, from
// r.
func (e *Engine) ImageLoad(r io.Reader, progress io.Writer) ([]string, error) {
	tmp, err := e.Images.TempFile("load-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("images: read the archive: %w", err)
	}
	loaded, err := e.Images.LoadArchive(tmp.Name(), progress)
	if err != nil {
		return nil, errdefs.Kind(errdefs.ErrInvalid, err)
	}
	for _, l := range loaded {
		e.eventImage("load", l)
	}
	return loaded, nil
}

// ImageSave is docker save.
func (e *Engine) ImageSave(names []string, w io.Writer) error {
	if len(names) == 0 {
		return errdefs.Kind(errdefs.ErrInvalid, errors.New("give at least one image to save"))
	}
	if err := e.Images.Save(names, w); err != nil {
		return err
	}
	for _, n := range names {
		e.eventImage("save", n)
	}
	return nil
}

// registryFor is how a request reaches a registry: the engine's
// transport and the request's credentials.
func (e *Engine) registryFor(a registry.AuthConfig) imagestore.Registry {
	reg := imagestore.Registry{Transport: e.opts.Transport}
	switch {
	case a.IdentityToken != "" || a.RegistryToken != "":
		reg.Auth = authn.FromConfig(authn.AuthConfig{IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken})
	case a.Username != "" || a.Password != "":
		reg.Auth = &authn.Basic{Username: a.Username, Password: a.Password}
	case a.Auth != "":
		reg.Auth = authn.FromConfig(authn.AuthConfig{Auth: a.Auth})
	}
	return reg
}

// ImagePull is docker pull; it returns the manifest's digest.
func (e *Engine) ImagePull(ref string, auth registry.AuthConfig, progress io.Writer) (string, error) {
	id, digest, err := e.Images.Pull(ref, e.registryFor(auth), progress)
	if err != nil {
		return "", err
	}
	e.eventImage("pull", mustNormalize(ref))
	_ = id
	return digest, nil
}

// ImagePush is docker push; it returns the manifest's digest.
func (e *Engine) ImagePush(ref string, auth registry.AuthConfig, progress io.Writer) (string, error) {
	digest, err := e.Images.Push(ref, e.registryFor(auth), progress)
	if err != nil {
		return "", err
	}
	e.eventImage("push", mustNormalize(ref))
	return digest, nil
}

// Auth is docker login: the credentials are tried on their registry.
func (e *Engine) Auth(a registry.AuthConfig) (registry.AuthenticateOKBody, error) {
	if err := e.Images.CheckLogin(a.ServerAddress, e.registryFor(a)); err != nil {
		return registry.AuthenticateOKBody{}, err
	}
	return registry.AuthenticateOKBody{Status: "Login Succeeded"}, nil
}

// ImageSearch is docker search: the registry's search, or where it has
// none (a registry v2) the names of its catalog that hold the term.
func (e *Engine) ImageSearch(term string, limit int, f filters.Args, auth registry.AuthConfig) ([]registry.SearchResult, error) {
	for _, k := range f.Keys() {
		if k != "is-official" && k != "is-automated" && k != "stars" {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	if limit < 1 || limit > 100 {
		return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("limit %d is outside the range of [1, 100]", limit))
	}
	results, err := e.Images.Search(term, limit, e.registryFor(auth))
	if err != nil {
		return nil, err
	}
	official, err := boolFilter(f, "is-official")
	if err != nil {
		return nil, err
	}
	automated, err := boolFilter(f, "is-automated")
	if err != nil {
		return nil, err
	}
	minStars := 0
	for _, s := range f.Get("stars") {
		if _, err := fmt.Sscan(s, &minStars); err != nil {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter 'stars=%s'", s))
		}
	}
	out := []registry.SearchResult{}
	for _, r := range results {
		if (official != nil && r.IsOfficial != *official) || (automated != nil && r.IsAutomated != *automated) || r.StarCount < minStars {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// ImagePrune is docker image prune: dangling images (untagged, without
// children), or with dangling=false every image no container uses.
func (e *Engine) ImagePrune(f filters.Args) (image.PruneReport, error) {
	for _, k := range f.Keys() {
		if k != "dangling" && k != "until" && k != "label" && k != "label!" {
			return image.PruneReport{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	danglingOnly := true
	if d, err := boolFilter(f, "dangling"); err != nil {
		return image.PruneReport{}, err
	} else if d != nil {
		danglingOnly = *d
	}
	until, err := untilFilter(f)
	if err != nil {
		return image.PruneReport{}, err
	}
	used := map[string]bool{}
	for _, c := range e.List(true) {
		used[c.Image] = true
	}
	rep := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}}
	list, err := e.Images.List()
	if err != nil {
		return rep, err
	}
	for _, img := range list {
		if used[img.ID] || (danglingOnly && len(img.RepoTags) > 0) || len(e.children(img.ID)) > 0 {
			continue
		}
		if (!until.IsZero() && img.Config.Created.After(until)) || !matchLabels(f, img.Config.Config.Labels) {
			continue
		}
		size := img.Size
		deleted, err := e.deleteImage(img.ID, false, true, false, nil)
		if err != nil {
			continue
		}
		rep.ImagesDeleted = append(rep.ImagesDeleted, deleted...)
		rep.SpaceReclaimed += uint64(size)
	}
	e.eventImage("prune", "")
	return rep, nil
}

// matchLabels applies the label and label! filters of prunes.
func matchLabels(f filters.Args, labels map[string]string) bool {
	if !f.MatchKVList("label", labels) {
		return false
	}
	if f.Contains("label!") {
		for _, l := range f.Get("label!") {
			k, v, hasValue := strings.Cut(l, "=")
			if have, ok := labels[k]; ok && (!hasValue || have == v) {
				return false
			}
		}
	}
	return true
}

// BuildPrune is docker builder prune: the build cache is forgotten and
// the steps' images that nothing holds are deleted.
func (e *Engine) BuildPrune(o build.CachePruneOptions) (build.CachePruneReport, error) {
	rep := build.CachePruneReport{CachesDeleted: []string{}}
	steps := e.Images.ForgetCache()
	used := map[string]bool{}
	for _, c := range e.List(true) {
		used[c.Image] = true
	}
	// Newest first: a step's image goes before its parent.
	sort.Slice(steps, func(i, j int) bool { return steps[i].Config.Created.After(steps[j].Config.Created.Time) })
	for _, img := range steps {
		if used[img.ID] || len(img.RepoTags) > 0 || !e.Images.Intermediate(img.ID) || len(e.children(img.ID)) > 0 {
			continue
		}
		if _, err := e.deleteImage(img.ID, false, false, false, nil); err == nil {
			rep.CachesDeleted = append(rep.CachesDeleted, img.ID)
			rep.SpaceReclaimed += uint64(img.Size)
		}
	}
	return rep, nil
}
