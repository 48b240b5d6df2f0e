package engine

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"berth/runtime"
)

// runEnv is the environment a run starts with: the container's, the
// variables its links define, and TERM when it has a terminal, as Docker
// sets them.
func (e *Engine) runEnv(c *Container) []string {
	var extra []string
	for _, l := range c.HostConfig.Links {
		name, alias, _ := strings.Cut(l, ":")
		if other, err := e.Inspect(name); err == nil && other.NetworkSettings.IPAddress != "" {
			extra = append(extra, linkEnv(c.Name, alias, other)...)
		}
	}
	if c.Config.Tty {
		extra = append(extra, "TERM=xterm")
	}
	// The container's own settings win over what links define.
	return runtime.MergeEnv(extra, c.Config.Env)
}

// linkEnv is what docker run --link other:alias defines in the linking
// container (parent): ALIAS_NAME, ALIAS_PORT (the lowest exposed port),
// ALIAS_PORT_<port>_<PROTO> with its _ADDR, _PORT and _PROTO, and
// ALIAS_ENV_<name> for the other's environment but HOME and PATH.
func linkEnv(parent, alias string, other Container) []string {
	prefix := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(alias))
	ip := other.NetworkSettings.IPAddress
	env := []string{fmt.Sprintf("%s_NAME=%s", prefix, path.Join(parent, alias))}
	type port struct {
		num   int
		proto string
	}
	var ports []port
	for key := range other.Config.ExposedPorts {
		p, proto, _ := strings.Cut(string(key), "/")
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil {
			continue
		}
		if proto == "" {
			proto = "tcp"
		}
		ports = append(ports, port{n, proto})
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].num != ports[j].num {
			return ports[i].num < ports[j].num
		}
		return ports[i].proto < ports[j].proto
	})
	for i, p := range ports {
		url := fmt.Sprintf("%s://%s:%d", p.proto, ip, p.num)
		if i == 0 {
			env = append(env, fmt.Sprintf("%s_PORT=%s", prefix, url))
		}
		key := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.num, strings.ToUpper(p.proto))
		env = append(env, key+"="+url, key+"_ADDR="+ip, fmt.Sprintf("%s_PORT=%d", key, p.num), key+"_PROTO="+p.proto)
	}
	for _, kv := range other.Config.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "HOME" || k == "PATH" {
			continue
		}
		env = append(env, fmt.Sprintf("%s_ENV_%s=%s", prefix, k, v))
	}
	return env
}
