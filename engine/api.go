package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"berth/config"
)

// SocketPath is where the engine serves its API.
const SocketPath = "/run/berth.sock"

// APIVersion is the Docker Engine API version whose paths and fields the
// API follows.
const APIVersion = "1.41"

// Serve answers the Docker-shaped HTTP API on the unix socket path
// (root only) until the listener fails.
func (e *Engine) Serve(path string, version string) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("engine: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	return http.Serve(l, e.Handler(version))
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

// Handler is the API: the Docker Engine API's paths and JSON fields, so
// that docker tooling can follow.
func (e *Engine) Handler(version string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		var u unix.Utsname
		unix.Uname(&u)
		writeJSON(w, 200, map[string]string{"Version": version, "ApiVersion": APIVersion, "GoVersion": runtime.Version(),
			"Os": "linux", "Arch": "amd64", "KernelVersion": unix.ByteSliceToString(u.Release[:])})
	})
	mux.HandleFunc("GET /info", e.apiInfo)
	mux.HandleFunc("GET /containers/json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, e.List(r.URL.Query().Get("all") == "1" || r.URL.Query().Get("all") == "true"))
	})
	mux.HandleFunc("POST /containers/create", e.apiCreate)
	mux.HandleFunc("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		c, err := e.Inspect(r.PathValue("id"))
		reply(w, c, err)
	})
	mux.HandleFunc("POST /containers/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, e.Start(r.PathValue("id")))
	})
	mux.HandleFunc("POST /containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, e.Stop(r.PathValue("id"), timeoutParam(r)))
	})
	mux.HandleFunc("POST /containers/{id}/restart", func(w http.ResponseWriter, r *http.Request) {
		err := e.Stop(r.PathValue("id"), timeoutParam(r))
		if err == nil {
			err = e.Start(r.PathValue("id"))
		}
		reply(w, nil, err)
	})
	mux.HandleFunc("POST /containers/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		sig, err := parseSignal(r.URL.Query().Get("signal"))
		if err == nil {
			err = e.Kill(r.PathValue("id"), sig)
		}
		reply(w, nil, err)
	})
	mux.HandleFunc("POST /containers/{id}/wait", func(w http.ResponseWriter, r *http.Request) {
		code, err := e.Wait(r.PathValue("id"))
		reply(w, map[string]int{"StatusCode": code}, err)
	})
	mux.HandleFunc("DELETE /containers/{id}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		reply(w, nil, e.Remove(r.PathValue("id"), truthy(q, "force"), truthy(q, "v")))
	})
	mux.HandleFunc("GET /containers/{id}/logs", e.apiLogs)
	mux.HandleFunc("POST /containers/{id}/attach", e.apiAttach)
	mux.HandleFunc("POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
		en, err := e.find(r.PathValue("id"))
		if err == nil {
			err = en.logs.resize(sizeParam(r))
		}
		reply(w, nil, err)
	})
	mux.HandleFunc("POST /containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
		var cfg ExecConfig
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			writeJSON(w, 400, map[string]string{"message": "bad request body: " + err.Error()})
			return
		}
		id, err := e.ExecCreate(r.PathValue("id"), cfg)
		if err != nil {
			reply(w, nil, err)
			return
		}
		writeJSON(w, 201, map[string]string{"Id": id})
	})
	mux.HandleFunc("POST /exec/{id}/start", e.apiExecStart)
	mux.HandleFunc("POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, e.ExecResize(r.PathValue("id"), sizeParam(r)))
	})
	mux.HandleFunc("GET /exec/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		x, err := e.ExecInspect(r.PathValue("id"))
		reply(w, x, err)
	})
	mux.HandleFunc("GET /images/json", func(w http.ResponseWriter, r *http.Request) {
		imgs, err := e.Images.List()
		if !truthy(r.URL.Query(), "all") {
			// As docker images: the images of build steps only with -a.
			imgs = slices.DeleteFunc(imgs, func(i Image) bool { return len(i.RepoTags) == 0 && e.Images.Intermediate(i.ID) })
		}
		reply(w, imageSummaries(imgs), err)
	})
	mux.HandleFunc("POST /build", e.apiBuild)
	mux.HandleFunc("GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.find(r.PathValue("id")); err != nil {
			reply(w, nil, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		out := &countingWriter{w: w}
		if err := e.Export(r.PathValue("id"), out); err != nil {
			if out.n == 0 {
				// Nothing sent yet: the client gets the error, not an
				// empty archive.
				w.Header().Del("Content-Type")
				reply(w, nil, err)
				return
			}
			e.logf("engine: export %s: %v", r.PathValue("id"), err)
		}
	})
	mux.HandleFunc("POST /images/load", e.apiLoad)
	mux.HandleFunc("GET /images/get", func(w http.ResponseWriter, r *http.Request) {
		names := r.URL.Query()["names"]
		for _, n := range names {
			if _, err := e.Images.Get(n); err != nil {
				reply(w, nil, fmt.Errorf("%w: %v", ErrNotFound, err))
				return
			}
		}
		w.Header().Set("Content-Type", "application/x-tar")
		if err := e.Images.Save(names, w); err != nil {
			// Before the first byte, the client gets the error; after, a
			// cut archive, and the console the reason.
			e.logf("engine: save %v: %v", names, err)
			reply(w, nil, err)
		}
	})
	mux.HandleFunc("POST /images/create", e.apiImageCreate)
	mux.HandleFunc("POST /images/{name...}", e.apiImageTag)
	mux.HandleFunc("DELETE /images/{name...}", func(w http.ResponseWriter, r *http.Request) {
		force := r.URL.Query().Get("force") == "1" || r.URL.Query().Get("force") == "true"
		out, err := e.RemoveImage(r.PathValue("name"), force)
		reply(w, out, err)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = versionPrefix.ReplaceAllString(r.URL.Path, "/")
		mux.ServeHTTP(w, r)
	})
}

// countingWriter counts what goes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// reply answers with v, or with the error as Docker does: a JSON message
// and a status that says what kind of error it is.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status := 500
		switch {
		case errors.Is(err, ErrNotFound):
			status = 404
		case errors.Is(err, ErrConflict):
			status = 409
		case errors.Is(err, ErrInvalid):
			status = 400
		}
		writeJSON(w, status, map[string]string{"message": err.Error()})
		return
	}
	if v == nil {
		w.WriteHeader(204)
		return
	}
	writeJSON(w, 200, v)
}

func timeoutParam(r *http.Request) time.Duration {
	if t, err := strconv.Atoi(r.URL.Query().Get("t")); err == nil {
		return time.Duration(t) * time.Second
	}
	return 10 * time.Second
}

// parseSignal reads a signal by number or name (KILL, SIGKILL).
func parseSignal(s string) (unix.Signal, error) {
	if s == "" {
		return unix.SIGKILL, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return unix.Signal(n), nil
	}
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}

// CreateRequest is the body of POST /containers/create: Docker's
// container config with its HostConfig.
type CreateRequest struct {
	ContainerConfig
	Entrypoint *[]string `json:"Entrypoint"`
	HostConfig HostConfig
}

func (e *Engine) apiCreate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		reply(w, nil, err)
		return
	}
	var req CreateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, 400, map[string]string{"message": "bad request body: " + err.Error()})
		return
	}
	if err := checkCreateFields(body); err != nil {
		reply(w, nil, err)
		return
	}
	o := CreateOptions{Name: r.URL.Query().Get("name"), Image: req.Image, Cmd: req.Cmd, Env: req.Env,
		Workdir: req.WorkingDir, User: req.User, Hostname: req.Hostname, PublishAll: req.HostConfig.PublishAllPorts,
		Restart:    config.RestartPolicy{Name: req.HostConfig.RestartPolicy.Name, MaximumRetryCount: req.HostConfig.RestartPolicy.MaximumRetryCount},
		AutoRemove: req.HostConfig.AutoRemove, Memory: req.HostConfig.Memory, CPUs: float64(req.HostConfig.NanoCpus) / 1e9,
		PidsLimit: req.HostConfig.PidsLimit, CapAdd: req.HostConfig.CapAdd, CapDrop: req.HostConfig.CapDrop,
		ReadOnly: req.HostConfig.ReadonlyRootfs, Tty: req.Tty, OpenStdin: req.OpenStdin, StdinOnce: req.StdinOnce,
		Labels: req.Labels, Privileged: req.HostConfig.Privileged, SecurityOpt: req.HostConfig.SecurityOpt,
		Devices: req.HostConfig.Devices, NetworkMode: req.HostConfig.NetworkMode, LogConfig: req.HostConfig.LogConfig}
	if req.Entrypoint != nil {
		o.Entrypoint, o.EntrypointSet = *req.Entrypoint, true
	}
	for v := range req.Volumes {
		if !strings.HasPrefix(v, "/") {
			reply(w, nil, fmt.Errorf("%w: volume %q: give an absolute path in the container", ErrInvalid, v))
			return
		}
		o.AnonymousVolumes = append(o.AnonymousVolumes, v)
	}
	for key, bindings := range req.HostConfig.PortBindings {
		port, proto, _ := strings.Cut(key, "/")
		cp, err := strconv.Atoi(port)
		if err != nil {
			writeJSON(w, 400, map[string]string{"message": fmt.Sprintf("port %q: %v", key, err)})
			return
		}
		if proto == "" {
			proto = "tcp"
		}
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			o.Ports = append(o.Ports, config.PortMapping{HostIP: b.HostIP(), HostPort: uint16(hp), ContainerPort: uint16(cp), Proto: proto})
		}
	}
	for p := range req.ExposedPorts {
		if _, ok := req.HostConfig.PortBindings[p]; !ok && req.HostConfig.PublishAllPorts {
			port, proto, _ := strings.Cut(p, "/")
			cp, _ := strconv.Atoi(port)
			o.Ports = append(o.Ports, config.PortMapping{ContainerPort: uint16(cp), Proto: proto})
		}
	}
	for _, b := range req.HostConfig.Binds {
		v, err := config.ParseVolume(b)
		if err != nil {
			writeJSON(w, 400, map[string]string{"message": err.Error()})
			return
		}
		o.Volumes = append(o.Volumes, v)
	}
	for _, l := range req.HostConfig.Links {
		link, err := config.ParseLink(strings.TrimPrefix(l, "/"))
		if err != nil {
			writeJSON(w, 400, map[string]string{"message": err.Error()})
			return
		}
		o.Links = append(o.Links, link)
	}
	c, err := e.Create(o)
	if err != nil {
		reply(w, nil, err)
		return
	}
	warnings := []string{}
	if c.HostConfig.Network() == "host" && (len(c.HostConfig.PortBindings) > 0 || c.HostConfig.PublishAllPorts) {
		warnings = append(warnings, "Published ports are discarded when using host network mode")
	}
	writeJSON(w, 201, map[string]any{"Id": c.Id, "Warnings": warnings})
}

// Stream numbers of Docker's multiplexed log stream.
const (
	streamStdout = 1
	streamStderr = 2
)

func (e *Engine) apiLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	truthy := func(k string) bool { return q.Get(k) == "1" || q.Get(k) == "true" }
	o := LogOptions{Follow: truthy("follow"), Timestamps: truthy("timestamps"), Stdout: truthy("stdout"), Stderr: truthy("stderr"), Tail: -1}
	if !o.Stdout && !o.Stderr {
		o.Stdout, o.Stderr = true, true
	}
	if t, err := strconv.Atoi(q.Get("tail")); err == nil {
		o.Tail = t
	}
	if _, err := e.find(r.PathValue("id")); err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	w.WriteHeader(200)
	e.Logs(r.PathValue("id"), o, frameWriter{w, streamStdout}, frameWriter{w, streamStderr}, r.Context().Done())
}

// ImageSummary is one entry of GET /images/json.
type ImageSummary struct {
	Id       string
	RepoTags []string
	Created  int64
	Size     int64
}

func imageSummaries(imgs []Image) []ImageSummary {
	out := []ImageSummary{}
	for _, i := range imgs {
		out = append(out, ImageSummary{Id: i.ID, RepoTags: i.RepoTags, Created: i.Config.Created.Unix(), Size: i.Size})
	}
	return out
}

// progressWriter streams progress lines as Docker's JSON messages.
type progressWriter struct{ w http.ResponseWriter }

func (p progressWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		json.NewEncoder(p.w).Encode(map[string]string{"stream": line + "\n"})
	}
	if fl, ok := p.w.(http.Flusher); ok {
		fl.Flush()
	}
	return len(b), nil
}

func (e *Engine) apiLoad(w http.ResponseWriter, r *http.Request) {
	tmp, err := os.CreateTemp("", "berth-load-")
	if err != nil {
		reply(w, nil, err)
		return
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r.Body)
	tmp.Close()
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	loaded, err := e.Images.LoadArchive(tmp.Name(), progressWriter{w})
	if err != nil {
		json.NewEncoder(w).Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
		return
	}
	for _, l := range loaded {
		json.NewEncoder(w).Encode(map[string]string{"stream": "Loaded image: " + l + "\n"})
	}
}

func (e *Engine) apiImageCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if from := q.Get("fromImage"); from != "" {
		ref := from
		if t := q.Get("tag"); t != "" {
			ref += ":" + t
		}
		transport := e.opts.Transport
		if transport == nil {
			transport = http.DefaultTransport
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		id, err := e.Images.Pull(ref, transport, progressWriter{w})
		if err != nil {
			json.NewEncoder(w).Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "Downloaded image " + ref + " (" + id + ")"})
		return
	}
	if q.Get("fromSrc") != "-" {
		reply(w, nil, errors.New("give fromImage to pull, or fromSrc=- to import"))
		return
	}
	ref := q.Get("repo")
	if ref != "" && q.Get("tag") != "" {
		ref += ":" + q.Get("tag")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	id, err := e.Images.Import(r.Body, ref, progressWriter{w})
	if err != nil {
		json.NewEncoder(w).Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"status": id})
}

// apiImageTag is POST /images/{name}/tag?repo=&tag=.
func (e *Engine) apiImageTag(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), "/tag")
	if !ok {
		http.NotFound(w, r)
		return
	}
	dst := r.URL.Query().Get("repo")
	if t := r.URL.Query().Get("tag"); t != "" {
		dst += ":" + t
	}
	err := e.Images.Tag(name, dst)
	if err != nil && strings.Contains(err.Error(), "no such image") {
		err = fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.WriteHeader(201)
}

func (e *Engine) apiInfo(w http.ResponseWriter, r *http.Request) {
	cs := e.List(true)
	running := 0
	for _, c := range cs {
		if c.State.Running {
			running++
		}
	}
	imgs, _ := e.Images.List()
	info, err := e.opts.Storage.Info()
	if err != nil {
		reply(w, nil, err)
		return
	}
	source, _ := os.ReadFile(config.SourcePath)
	// As Docker's: seccomp with the builtin profile, and SELinux when the
	// kernel enforces a policy.
	security := []string{"name=seccomp,profile=builtin"}
	if selinux.GetEnabled() {
		mode := "permissive"
		if selinux.EnforceMode() == selinux.Enforcing {
			mode = "enforcing"
		}
		policy, _ := os.ReadFile("/sys/fs/selinux/policyvers")
		security = append(security, "name=selinux,mode="+mode+",policy="+strings.TrimSpace(string(policy)))
	}
	writeJSON(w, 200, map[string]any{"Containers": len(cs), "ContainersRunning": running, "ContainersStopped": len(cs) - running,
		"Images": len(imgs), "Driver": "devicemapper", "Pool": info, "ConfigSource": strings.TrimSpace(string(source)),
		"SecurityOptions": security})
}

func truthy(q url.Values, key string) bool { return q.Get(key) == "1" || q.Get(key) == "true" }

func sizeParam(r *http.Request) Winsize {
	h, _ := strconv.Atoi(r.URL.Query().Get("h"))
	w, _ := strconv.Atoi(r.URL.Query().Get("w"))
	return Winsize{Height: uint16(h), Width: uint16(w)}
}

// hijack takes the connection over from the HTTP server for a raw
// stream, as Docker's attach and exec do: 101 when the client asked to
// upgrade, else 200, then the stream both ways.
func hijack(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("engine: the connection cannot carry a stream")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	const stream = "Content-Type: application/vnd.docker.raw-stream\r\n"
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\n"+stream+"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	} else {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n"+stream+"\r\n")
	}
	return conn, rw.Reader, nil
}

// apiAttach is POST /containers/{id}/attach: the container's output as it
// comes (after its log so far with logs=1), and the client's input to its
// stdin with stdin=1, until the run ends. Attaching before start, as
// docker run does, misses nothing.
func (e *Engine) apiAttach(w http.ResponseWriter, r *http.Request) {
	en, err := e.find(r.PathValue("id"))
	if err != nil {
		reply(w, nil, err)
		return
	}
	q := r.URL.Query()
	a := &attachment{stdout: truthy(q, "stdout"), stderr: truthy(q, "stderr")}
	if !a.stdout && !a.stderr && !truthy(q, "stdin") {
		a.stdout, a.stderr = true, true
	}
	conn, in, err := hijack(w, r)
	if err != nil {
		reply(w, nil, err)
		return
	}
	defer conn.Close()
	a.w = conn
	if truthy(q, "logs") {
		e.mu.Lock()
		tty := en.c.Config.Tty
		e.mu.Unlock()
		var stdout, stderr io.Writer = frameWriter{conn, streamStdout}, frameWriter{conn, streamStderr}
		if tty {
			stdout, stderr = conn, conn
		}
		en.logs.write(LogOptions{Tail: -1, Stdout: a.stdout, Stderr: a.stderr}, stdout, stderr, nil)
	}
	if q.Get("stream") == "0" || q.Get("stream") == "false" {
		return
	}
	en.logs.attach(a)
	if truthy(q, "stdin") {
		go en.logs.feedStdin(in, a)
	}
	<-a.done
}

// apiExecStart is POST /exec/{id}/start: detached, it starts the command
// and answers; else it streams as attach does until the command ends.
func (e *Engine) apiExecStart(w http.ResponseWriter, r *http.Request) {
	var body struct{ Detach, Tty bool }
	json.NewDecoder(r.Body).Decode(&body)
	id := r.PathValue("id")
	if _, err := e.ExecInspect(id); err != nil {
		reply(w, nil, err)
		return
	}
	if body.Detach {
		reply(w, nil, e.ExecStart(id, nil, nil))
		return
	}
	conn, in, err := hijack(w, r)
	if err != nil {
		reply(w, nil, err)
		return
	}
	defer conn.Close()
	if err := e.ExecStart(id, conn, in); err != nil {
		frameWriter{conn, streamStderr}.Write([]byte("berth: " + err.Error() + "\n"))
	}
}

// apiBuild is POST /build: the body is the build context as a tar; the
// answer streams the build's output as JSON messages.
func (e *Engine) apiBuild(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := BuildOptions{Tags: q["t"], Dockerfile: q.Get("dockerfile"), NoCache: truthy(q, "nocache"),
		Remove: q.Get("rm") != "0" && q.Get("rm") != "false", ForceRemove: truthy(q, "forcerm")}
	if a := q.Get("buildargs"); a != "" {
		if err := json.Unmarshal([]byte(a), &o.BuildArgs); err != nil {
			reply(w, nil, fmt.Errorf("buildargs: %w", err))
			return
		}
	}
	for _, t := range o.Tags {
		if _, err := NormalizeRef(t); err != nil {
			writeJSON(w, 400, map[string]string{"message": err.Error()})
			return
		}
	}
	dir, err := os.MkdirTemp(filepath.Join(e.Images.dir, "mnt"), "context-")
	if err != nil {
		reply(w, nil, err)
		return
	}
	defer os.RemoveAll(dir)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	out := progressWriter{w}
	n, err := ApplyLayer(dir, r.Body)
	if err == nil {
		fmt.Fprintf(out, "Sending build context to berth %s", humanBytes(n))
		_, err = e.Build(dir, o, out)
	}
	if err != nil {
		json.NewEncoder(w).Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
	}
}

// humanBytes formats a size as docker build's context line does.
func humanBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return strconv.FormatFloat(f, 'f', 3, 64) + " " + units[i]
}
