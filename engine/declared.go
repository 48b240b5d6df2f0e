package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"berth/config"
)

// DeclaredLabel marks a container made from a [[container]] entry of
// berth.toml; its value is a hash of the entry, so that a changed entry is
// seen at the next boot.
const DeclaredLabel = "berth.declared"

// declarationHash identifies an entry's content.
func declarationHash(ct config.Container) string {
	b, _ := json.Marshal(ct)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// request turns a [[container]] entry into docker create's request.
func request(ct config.Container) (*container.Config, *container.HostConfig, error) {
	cfg := &container.Config{Image: ct.Image, Cmd: ct.Command, Env: ct.Env, WorkingDir: ct.Workdir, User: ct.User,
		Hostname: ct.Hostname, Labels: map[string]string{DeclaredLabel: declarationHash(ct)}}
	if ct.Entrypoint != nil {
		cfg.Entrypoint = ct.Entrypoint
		if len(ct.Entrypoint) == 0 {
			cfg.Entrypoint = []string{""} // declared empty: none
		}
	}
	hc := &container.HostConfig{PublishAllPorts: ct.PublishAll, Binds: ct.Volumes, PortBindings: nat.PortMap{}}
	hc.Memory, hc.NanoCPUs = int64(ct.Memory), int64(ct.CPUs*1e9)
	if ct.PidsLimit != 0 {
		hc.PidsLimit = &ct.PidsLimit
	}
	rp, err := config.ParseRestart(ct.Restart)
	if err != nil {
		return nil, nil, err
	}
	hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(rp.Name), MaximumRetryCount: rp.MaximumRetryCount}
	for _, p := range ct.Ports {
		m, err := config.ParsePort(p)
		if err != nil {
			return nil, nil, err
		}
		addPortBinding(hc.PortBindings, m)
	}
	for _, l := range ct.Links {
		link, err := config.ParseLink(l)
		if err != nil {
			return nil, nil, err
		}
		hc.Links = append(hc.Links, link.Name+":"+link.Alias)
	}
	return cfg, hc, nil
}

// addPortBinding adds one -p mapping to a port map.
func addPortBinding(pm nat.PortMap, m config.PortMapping) {
	port, _ := nat.NewPort(m.Proto, strconv.Itoa(int(m.ContainerPort)))
	hostPort := ""
	if m.HostPort != 0 {
		hostPort = strconv.Itoa(int(m.HostPort))
	}
	pm[port] = append(pm[port], nat.PortBinding{HostIP: m.HostIP, HostPort: hostPort})
}

// Declare makes the declared containers real, in dependency order: each
// is created if missing, recreated if its entry changed, and started; a
// container declared before but no longer is stopped and removed. One
// that cannot be made (its image is missing, say) is reported through
// logf, and the others still start.
func (e *Engine) Declare(cfg *config.Config, logf func(format string, args ...any)) {
	declared := map[string]bool{}
	for _, ct := range cfg.StartOrder() {
		declared[ct.Name] = true
		if err := e.declare(ct); err != nil {
			logf("container %s: %v", ct.Name, err)
			continue
		}
	}
	for _, c := range e.List(true) {
		name := strings.TrimPrefix(c.Name, "/")
		if _, mine := c.Config.Labels[DeclaredLabel]; mine && !declared[name] {
			logf("container %s is no longer declared: removing it", name)
			e.stop(c.Id, container.StopOptions{}, false)
			if err := e.Remove(c.Id, true, false); err != nil {
				logf("container %s: %v", name, err)
			}
		}
	}
}

func (e *Engine) declare(ct config.Container) error {
	cfg, hc, err := request(ct)
	if err != nil {
		return err
	}
	if c, err := e.Inspect(ct.Name); err == nil {
		hash, mine := c.Config.Labels[DeclaredLabel]
		switch {
		case !mine:
			return fmt.Errorf("a container of that name exists that berth.toml did not make; remove it (berth rm -f %s) to let the declared one be created", ct.Name)
		case hash != cfg.Labels[DeclaredLabel]:
			e.stop(c.Id, container.StopOptions{}, false)
			if err := e.Remove(c.Id, true, false); err != nil {
				return fmt.Errorf("its declaration changed, and removing the old one failed: %w", err)
			}
		case c.State.Running:
			return nil
		default:
			return e.ContainerStart(c.Id)
		}
	}
	c, _, err := e.Create(ct.Name, cfg, hc)
	if err != nil {
		return err
	}
	return e.ContainerStart(c.Id)
}
