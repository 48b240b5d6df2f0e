package imagestore

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker/docker/api/types/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"berth/errdefs"
)

// DockerHub is Docker Hub's address as docker login writes it.
const DockerHub = "https://index.docker.io/v1/"

// registryOf reads a registry's address as docker login and docker search
// give it: a host[:port], with or without a scheme and path; empty is
// Docker Hub.
func registryOf(server string) (name.Registry, error) {
	if server == "" || server == DockerHub || strings.Contains(server, "index.docker.io") || server == "docker.io" {
		return name.NewRegistry(name.DefaultRegistry)
	}
	host := server
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		host = u.Host
	}
	host, _, _ = strings.Cut(host, "/")
	r, err := name.NewRegistry(host)
	if err != nil {
		return r, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid registry address %q: %w", server, err))
	}
	return r, nil
}

// CheckLogin tries reg's credentials on the registry at server.
func (s *Store) CheckLogin(server string, reg Registry) error {
	r, err := registryOf(server)
	if err != nil {
		return err
	}
	auth := reg.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	base := reg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t, err := transport.NewWithContext(ctx, r, auth, base, []string{r.Scope("pull")})
	if err != nil {
		return reg.refusal("login", r.RegistryStr(), err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", r.Scheme(), r.RegistryStr()), nil)
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return errdefs.Kind(errdefs.ErrUnavailable, fmt.Errorf("login to %s: %w", r.RegistryStr(), err))
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return errdefs.Kind(errdefs.ErrUnauthorized, fmt.Errorf("login attempt to %s://%s/v2/ failed with status: %d %s",
			r.Scheme(), r.RegistryStr(), resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	return errdefs.Kind(errdefs.ErrUnavailable, fmt.Errorf("login to %s: status %d", r.RegistryStr(), resp.StatusCode))
}

// splitSearchTerm splits docker search's term into the registry and what
// to look for: "localhost:5000/busy" searches localhost:5000 for busy; a
// term without a host searches Docker Hub.
func splitSearchTerm(term string) (server, query string) {
	first, rest, ok := strings.Cut(term, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "", term
}

// Search looks for term on its registry: its v1 search, as Docker Hub
// has, else (a registry v2, which has none) the repositories of its
// catalog whose names hold the term.
func (s *Store) Search(term string, limit int, reg Registry) ([]registry.SearchResult, error) {
	server, query := splitSearchTerm(term)
	r, err := registryOf(server)
	if err != nil {
		return nil, err
	}
	host := r.RegistryStr()
	if server == "" {
		host = "index.docker.io"
	}
	client := &http.Client{Transport: reg.Transport, Timeout: 30 * time.Second}
	if client.Transport == nil {
		client.Transport = http.DefaultTransport
	}
	u := fmt.Sprintf("%s://%s/v1/search?q=%s&n=%d", r.Scheme(), host, url.QueryEscape(query), limit)
	resp, err := client.Get(u)
	if err != nil {
		return nil, errdefs.Kind(errdefs.ErrUnavailable, fmt.Errorf("search %s: %w", host, err))
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		var v1 registry.SearchResults
		if err := json.Unmarshal(body, &v1); err != nil {
			return nil, fmt.Errorf("search %s: %w", host, err)
		}
		if len(v1.Results) > limit {
			v1.Results = v1.Results[:limit]
		}
		return v1.Results, nil
	}
	repos, err := remote.Catalog(context.Background(), r, reg.options()...)
	if err != nil {
		return nil, reg.refusal("search", host, err)
	}
	var out []registry.SearchResult
	for _, repo := range repos {
		if strings.Contains(repo, query) && len(out) < limit {
			out = append(out, registry.SearchResult{Name: host + "/" + repo})
		}
	}
	return out, nil
}

// DecompressStream reads a tar stream that may be compressed with gzip
// or bzip2, as Docker's build context and load may be.
func DecompressStream(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	}
	return br, nil
}
