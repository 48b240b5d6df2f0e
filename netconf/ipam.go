package netconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"berth/config"
)

// IPAM hands out the addresses of the bridge's subnet, one per owner (a
// container id), and remembers them in a file on the state disk: an
// address is never given to two owners, an owner keeps its address across
// reboots, and a freed address is reused only after every other one.
type IPAM struct {
	path string
}

// ipamState is the file's content.
type ipamState struct {
	Subnet    string            `json:"subnet"`
	Gateway   string            `json:"gateway"`
	Allocated map[string]string `json:"allocated"` // address → owner
	Last      string            `json:"last,omitempty"`
}

// NewIPAM returns the allocator whose record is path.
func NewIPAM(path string) *IPAM { return &IPAM{path: path} }

// Allocate returns owner's address in subnet (gateway excluded), giving it
// a new one if it has none.
func (a *IPAM) Allocate(owner string, gateway netip.Prefix) (netip.Addr, error) {
	var addr netip.Addr
	err := a.update(gateway, func(st *ipamState) error {
		for ip, o := range st.Allocated {
			if o == owner {
				addr = netip.MustParseAddr(ip)
				return nil
			}
		}
		next, err := nextFree(st, gateway)
		if err != nil {
			return err
		}
		st.Allocated[next.String()] = owner
		st.Last = next.String()
		addr = next
		return nil
	})
	return addr, err
}

// Release frees owner's address, if it has one.
func (a *IPAM) Release(owner string, gateway netip.Prefix) error {
	return a.update(gateway, func(st *ipamState) error {
		for ip, o := range st.Allocated {
			if o == owner {
				delete(st.Allocated, ip)
			}
		}
		return nil
	})
}

// Owners returns every allocation, address to owner.
func (a *IPAM) Owners(gateway netip.Prefix) (map[string]string, error) {
	var out map[string]string
	err := a.update(gateway, func(st *ipamState) error {
		out = st.Allocated
		return nil
	})
	return out, err
}

// nextFree finds the first free address after the last one handed out,
// wrapping around, skipping the network, gateway and broadcast addresses.
func nextFree(st *ipamState, gateway netip.Prefix) (netip.Addr, error) {
	subnet := gateway.Masked()
	first := subnet.Addr().Next()
	start := first
	if last, err := netip.ParseAddr(st.Last); err == nil && subnet.Contains(last) {
		start = last.Next()
	}
	broadcast := config.BroadcastAddr(subnet)
	for a, wrapped := start, false; ; a = a.Next() {
		if !subnet.Contains(a) || a == broadcast {
			if wrapped {
				break
			}
			a, wrapped = first, true
		}
		if wrapped && a == start {
			break
		}
		if a == gateway.Addr() {
			continue
		}
		if _, used := st.Allocated[a.String()]; !used {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("netconf: every address of %s is in use", subnet)
}

// update runs f on the record under an exclusive lock and saves it. A
// record of another subnet (the bridge was reconfigured) is started anew.
func (a *IPAM) update(gateway netip.Prefix, f func(*ipamState) error) error {
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	lock, err := os.OpenFile(a.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("netconf: lock %s: %w", lock.Name(), err)
	}
	st := &ipamState{}
	b, err := os.ReadFile(a.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("netconf: %w", err)
	default:
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("netconf: %s is corrupt: %w", a.path, err)
		}
	}
	if st.Subnet != gateway.Masked().String() || st.Gateway != gateway.Addr().String() {
		st = &ipamState{Subnet: gateway.Masked().String(), Gateway: gateway.Addr().String()}
	}
	if st.Allocated == nil {
		st.Allocated = map[string]string{}
	}
	if err := f(st); err != nil {
		return err
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := a.path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	return os.Rename(tmp, a.path)
}
