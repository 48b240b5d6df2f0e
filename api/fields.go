package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"berth/errdefs"
)

// The fields of POST /containers/create that berth carries out. Docker's
// clients send every field, most of them empty; a field outside these
// lists that carries a value is refused, naming it: an option berth does
// not carry out is an error, never silently ignored.
var (
	createFields = fieldSet("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts",
		"Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "Image", "Volumes", "WorkingDir", "Entrypoint",
		"Labels", "StopSignal", "StopTimeout", "HostConfig", "NetworkingConfig",
		// Of the Windows platform, of builds, or of the client alone.
		"ArgsEscaped", "OnBuild", "Shell")
	hostConfigFields = fieldSet("Binds", "PortBindings", "PublishAllPorts", "RestartPolicy", "AutoRemove",
		"Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "CapAdd", "CapDrop", "ReadonlyRootfs", "Links",
		"Privileged", "SecurityOpt", "Devices", "NetworkMode", "LogConfig", "Dns", "DnsSearch", "DnsOptions",
		"ExtraHosts", "Init", "Tmpfs", "Mounts", "Ulimits",
		// The client's own: the file the CLI writes the id to, and the
		// size of its terminal.
		"ContainerIDFile", "ConsoleSize")
	// updateFields are what POST /containers/{id}/update changes.
	updateFields = fieldSet("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "RestartPolicy")
	// defaultValues are values of fields berth does not take that say
	// what berth does anyway.
	defaultValues = map[string][]string{
		"HostConfig.CgroupnsMode": {`"private"`},
		"HostConfig.IpcMode":      {`"private"`},
		"HostConfig.Isolation":    {`"default"`},
		"HostConfig.Runtime":      {`"runc"`},
		"HostConfig.OomScoreAdj":  {`0`},
		// Docker's CLI sends -1 for "the kernel's default".
		"HostConfig.MemorySwappiness": {`-1`},
	}
	// emptyMeansSomething are fields whose empty list is not their absence:
	// Docker's CLI sends empty MaskedPaths and ReadonlyPaths for
	// --security-opt systempaths=unconfined.
	emptyMeansSomething = fieldSet("HostConfig.MaskedPaths", "HostConfig.ReadonlyPaths")
)

func fieldSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkCreateFields refuses a create request that sets a field berth does
// not carry out.
func checkCreateFields(body []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return fmt.Errorf("%w: bad request body: %v", errdefs.ErrInvalid, err)
	}
	var unsupported []string
	unsupported = append(unsupported, unsetFields("", top, createFields)...)
	var hc map[string]json.RawMessage
	if raw, ok := top["HostConfig"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &hc); err != nil {
			return fmt.Errorf("%w: HostConfig: %v", errdefs.ErrInvalid, err)
		}
		unsupported = append(unsupported, unsetFields("HostConfig.", hc, hostConfigFields)...)
	}
	// Endpoint settings of the network the container joins: only empty
	// ones (no aliases, addresses or links of their own).
	var nc struct{ EndpointsConfig map[string]json.RawMessage }
	if raw, ok := top["NetworkingConfig"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &nc); err != nil {
			return fmt.Errorf("%w: NetworkingConfig: %v", errdefs.ErrInvalid, err)
		}
		for name, ep := range nc.EndpointsConfig {
			var v any
			if json.Unmarshal(ep, &v) == nil && !isZero(v) {
				unsupported = append(unsupported, "NetworkingConfig.EndpointsConfig."+name)
			}
		}
	}
	if len(unsupported) == 0 {
		return nil
	}
	sort.Strings(unsupported)
	return fmt.Errorf("%w: berth does not support %s; leave it out", errdefs.ErrInvalid, strings.Join(unsupported, ", "))
}

// unsetFields lists the fields of obj outside known that carry a value.
func unsetFields(prefix string, obj map[string]json.RawMessage, known map[string]bool) []string {
	var out []string
	for k, raw := range obj {
		name := prefix + k
		if known[k] || slices.Contains(defaultValues[name], string(raw)) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			out = append(out, name)
			continue
		}
		if emptyMeansSomething[name] {
			if v != nil {
				out = append(out, name)
			}
			continue
		}
		if !isZero(v) {
			out = append(out, name)
		}
	}
	return out
}

// isZero reports whether a decoded JSON value is empty: null, false, 0,
// "", or a list or object of nothing but empty values.
func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		for _, e := range v {
			if !isZero(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

// checkUpdateFields refuses an update that sets a resource berth does not
// carry out.
func checkUpdateFields(body []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return fmt.Errorf("%w: bad request body: %v", errdefs.ErrInvalid, err)
	}
	unsupported := unsetFields("", top, updateFields)
	if len(unsupported) == 0 {
		return nil
	}
	sort.Strings(unsupported)
	return fmt.Errorf("%w: berth does not update %s; it updates memory, memory-swap, cpus, cpu-shares, pids-limit and restart", errdefs.ErrInvalid, strings.Join(unsupported, ", "))
}
