package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-units"
)

// This file is the rows of docker ps and docker images as their
// templates see them: the fields of Docker's formatter, by its names.

// since is how long ago t was, as Docker words it ("5 minutes ago").
func since(t time.Time) string { return units.HumanDuration(time.Now().UTC().Sub(t)) + " ago" }

// humanSize is a size as docker images and ps -s show it ("1.24MB").
func humanSize(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// containerRow is one container as docker ps shows it.
type containerRow struct {
	c     container.Summary
	trunc bool
}

func (r containerRow) MarshalJSON() ([]byte, error) { return fieldsJSON(r) }

func (r containerRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.c.ID)
	}
	return r.c.ID
}

func (r containerRow) Names() string {
	var names []string
	for _, n := range r.c.Names {
		n = strings.TrimPrefix(n, "/")
		if r.trunc && strings.Contains(n, "/") {
			continue // a link's name: shown with --no-trunc
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

func (r containerRow) Image() string {
	img := r.c.Image
	if img == "" {
		img = "<no image>"
	}
	if r.trunc && strings.HasPrefix(img, "sha256:") {
		return stringid.TruncateID(img)
	}
	return img
}

func (r containerRow) Command() string {
	cmd := r.c.Command
	if r.trunc {
		cmd = ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

func (r containerRow) CreatedAt() string { return time.Unix(r.c.Created, 0).String() }
func (r containerRow) RunningFor() string {
	return units.HumanDuration(time.Now().UTC().Sub(time.Unix(r.c.Created, 0))) + " ago"
}
func (r containerRow) Ports() string  { return displayPorts(r.c.Ports) }
func (r containerRow) State() string  { return string(r.c.State) }
func (r containerRow) Status() string { return r.c.Status }

func (r containerRow) Size() string {
	rw := humanSize(r.c.SizeRw)
	if r.c.SizeRootFs > 0 {
		return fmt.Sprintf("%s (virtual %s)", rw, humanSize(r.c.SizeRootFs))
	}
	return rw
}

func (r containerRow) Labels() string {
	var out []string
	for _, k := range sortedKeys(r.c.Labels) {
		out = append(out, k+"="+r.c.Labels[k])
	}
	return strings.Join(out, ",")
}

func (r containerRow) Label(name string) string { return r.c.Labels[name] }

func (r containerRow) Mounts() string {
	var out []string
	for _, m := range r.c.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if r.trunc {
			name = ellipsis(name, 15)
		}
		out = append(out, name)
	}
	return strings.Join(out, ",")
}

func (r containerRow) LocalVolumes() string {
	n := 0
	for _, m := range r.c.Mounts {
		if m.Driver == "local" {
			n++
		}
	}
	return strconv.Itoa(n)
}

func (r containerRow) Networks() string {
	if r.c.NetworkSettings == nil {
		return ""
	}
	return strings.Join(sortedKeys(r.c.NetworkSettings.Networks), ",")
}

// containerHeader is docker ps's header row.
type containerHeader struct{}

func (containerHeader) ID() string           { return "CONTAINER ID" }
func (containerHeader) Names() string        { return "NAMES" }
func (containerHeader) Image() string        { return "IMAGE" }
func (containerHeader) Command() string      { return "COMMAND" }
func (containerHeader) CreatedAt() string    { return "CREATED AT" }
func (containerHeader) RunningFor() string   { return "CREATED" }
func (containerHeader) Ports() string        { return "PORTS" }
func (containerHeader) State() string        { return "STATE" }
func (containerHeader) Status() string       { return "STATUS" }
func (containerHeader) Size() string         { return "SIZE" }
func (containerHeader) Labels() string       { return "LABELS" }
func (containerHeader) Label(string) string  { return "LABEL" }
func (containerHeader) Mounts() string       { return "MOUNTS" }
func (containerHeader) LocalVolumes() string { return "LOCAL VOLUMES" }
func (containerHeader) Networks() string     { return "NETWORKS" }

// displayPorts formats ports as docker ps does: published ones as
// IP:PUBLIC->PRIVATE/PROTO, exposed ones as PRIVATE/PROTO, runs of
// consecutive ports as ranges.
func displayPorts(ports []container.Port) string {
	type group struct {
		ip, proto   string
		first, last uint16
		pubFirst    uint16
		pubLast     uint16
		published   bool
	}
	sorted := append([]container.Port(nil), ports...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.IP != b.IP {
			return a.IP < b.IP
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		return a.PublicPort < b.PublicPort
	})
	var groups []*group
	for _, p := range sorted {
		pub := p.PublicPort != 0
		if n := len(groups); n > 0 {
			g := groups[n-1]
			if g.ip == p.IP && g.proto == p.Type && g.published == pub && p.PrivatePort == g.last+1 && (!pub || p.PublicPort == g.pubLast+1) {
				g.last, g.pubLast = p.PrivatePort, p.PublicPort
				continue
			}
		}
		groups = append(groups, &group{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort,
			pubFirst: p.PublicPort, pubLast: p.PublicPort, published: pub})
	}
	span := func(a, b uint16) string {
		if a == b {
			return strconv.Itoa(int(a))
		}
		return fmt.Sprintf("%d-%d", a, b)
	}
	var out []string
	for _, g := range groups {
		if !g.published {
			out = append(out, span(g.first, g.last)+"/"+g.proto)
			continue
		}
		ip := g.ip
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		out = append(out, fmt.Sprintf("%s:%s->%s/%s", ip, span(g.pubFirst, g.pubLast), span(g.first, g.last), g.proto))
	}
	return strings.Join(out, ", ")
}

// imageRow is one name of an image as docker images shows it.
type imageRow struct {
	img       image.Summary
	repo, tag string
	digest    string
	trunc     bool
}

func (r imageRow) MarshalJSON() ([]byte, error) { return fieldsJSON(r) }

func (r imageRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.img.ID)
	}
	return r.img.ID
}
func (r imageRow) Repository() string   { return r.repo }
func (r imageRow) Tag() string          { return r.tag }
func (r imageRow) Digest() string       { return r.digest }
func (r imageRow) CreatedSince() string { return since(time.Unix(r.img.Created, 0)) }
func (r imageRow) CreatedAt() string    { return time.Unix(r.img.Created, 0).String() }
func (r imageRow) Size() string         { return humanSize(r.img.Size) }
func (r imageRow) VirtualSize() string  { return humanSize(r.img.Size) }
func (r imageRow) Containers() string {
	if r.img.Containers < 0 {
		return "N/A"
	}
	return strconv.FormatInt(r.img.Containers, 10)
}
func (r imageRow) SharedSize() string {
	if r.img.SharedSize < 0 {
		return "N/A"
	}
	return humanSize(r.img.SharedSize)
}
func (r imageRow) UniqueSize() string {
	if r.img.SharedSize < 0 {
		return "N/A"
	}
	return humanSize(r.img.Size - r.img.SharedSize)
}
func (r imageRow) Labels() string {
	var out []string
	for _, k := range sortedKeys(r.img.Labels) {
		out = append(out, k+"="+r.img.Labels[k])
	}
	return strings.Join(out, ",")
}
func (r imageRow) Label(name string) string { return r.img.Labels[name] }

// imageHeader is docker images's header row.
type imageHeader struct{}

func (imageHeader) ID() string           { return "IMAGE ID" }
func (imageHeader) Repository() string   { return "REPOSITORY" }
func (imageHeader) Tag() string          { return "TAG" }
func (imageHeader) Digest() string       { return "DIGEST" }
func (imageHeader) CreatedSince() string { return "CREATED" }
func (imageHeader) CreatedAt() string    { return "CREATED AT" }
func (imageHeader) Size() string         { return "SIZE" }
func (imageHeader) VirtualSize() string  { return "VIRTUAL SIZE" }
func (imageHeader) Containers() string   { return "CONTAINERS" }
func (imageHeader) SharedSize() string   { return "SHARED SIZE" }
func (imageHeader) UniqueSize() string   { return "UNIQUE SIZE" }
func (imageHeader) Labels() string       { return "LABELS" }
func (imageHeader) Label(string) string  { return "LABEL" }

// imageRows are the rows of an image: one per name (repository and tag),
// with digests one per digest too, <none> for what it lacks.
func imageRows(img image.Summary, digests, trunc bool) []imageRow {
	var rows []imageRow
	tags := map[string][]string{} // repository → tags
	dgs := map[string][]string{}  // repository → digests
	for _, t := range img.RepoTags {
		if t == "<none>:<none>" {
			continue
		}
		i := strings.LastIndex(t, ":")
		tags[t[:i]] = append(tags[t[:i]], t[i+1:])
	}
	for _, d := range img.RepoDigests {
		if d == "<none>@<none>" {
			continue
		}
		repo, dg, _ := strings.Cut(d, "@")
		dgs[repo] = append(dgs[repo], dg)
	}
	repos := map[string]bool{}
	for r := range tags {
		repos[r] = true
	}
	for r := range dgs {
		repos[r] = true
	}
	for _, repo := range sortedKeys(repos) {
		ts := tags[repo]
		if len(ts) == 0 {
			if !digests {
				ts = []string{"<none>"}
			}
		}
		sort.Strings(ts)
		digest := "<none>"
		if d := dgs[repo]; len(d) > 0 {
			digest = d[0]
		}
		for _, t := range ts {
			rows = append(rows, imageRow{img: img, repo: repo, tag: t, digest: digest, trunc: trunc})
		}
		if digests && len(tags[repo]) == 0 {
			for _, d := range dgs[repo] {
				rows = append(rows, imageRow{img: img, repo: repo, tag: "<none>", digest: d, trunc: trunc})
			}
		}
	}
	if len(rows) == 0 {
		rows = append(rows, imageRow{img: img, repo: "<none>", tag: "<none>", digest: "<none>", trunc: trunc})
	}
	return rows
}
