package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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

// optionsOf turns a [[container]] entry into create options.
func optionsOf(ct config.Container) (CreateOptions, error) {
	o := CreateOptions{Name: ct.Name, Image: ct.Image, Cmd: ct.Command, Env: ct.Env, Workdir: ct.Workdir,
		User: ct.User, Hostname: ct.Hostname, PublishAll: ct.PublishAll, Memory: int64(ct.Memory), CPUs: ct.CPUs,
		PidsLimit: ct.PidsLimit, Labels: map[string]string{DeclaredLabel: declarationHash(ct)}}
	if ct.Entrypoint != nil {
		o.Entrypoint, o.EntrypointSet = ct.Entrypoint, true
	}
	var err error
	if o.Restart, err = config.ParseRestart(ct.Restart); err != nil {
		return o, err
	}
	for _, p := range ct.Ports {
		m, err := config.ParsePort(p)
		if err != nil {
			return o, err
		}
		o.Ports = append(o.Ports, m)
	}
	for _, v := range ct.Volumes {
		vol, err := config.ParseVolume(v)
		if err != nil {
			return o, err
		}
		o.Volumes = append(o.Volumes, vol)
	}
	for _, l := range ct.Links {
		link, err := config.ParseLink(l)
		if err != nil {
			return o, err
		}
		o.Links = append(o.Links, link)
	}
	return o, nil
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
			e.Stop(c.Id, 10*time.Second)
			if err := e.Remove(c.Id, true, false); err != nil {
				logf("container %s: %v", name, err)
			}
		}
	}
}

func (e *Engine) declare(ct config.Container) error {
	o, err := optionsOf(ct)
	if err != nil {
		return err
	}
	if c, err := e.Inspect(ct.Name); err == nil {
		hash, mine := c.Config.Labels[DeclaredLabel]
		switch {
		case !mine:
			return fmt.Errorf("a container of that name exists that berth.toml did not make; remove it (berth rm -f %s) to let the declared one be created", ct.Name)
		case hash != o.Labels[DeclaredLabel]:
			e.Stop(c.Id, 10*time.Second)
			if err := e.Remove(c.Id, true, false); err != nil {
				return fmt.Errorf("its declaration changed, and removing the old one failed: %w", err)
			}
		case c.State.Running:
			return nil
		default:
			return e.Start(c.Id)
		}
	}
	c, err := e.Create(o)
	if err != nil {
		return err
	}
	return e.Start(c.Id)
}
