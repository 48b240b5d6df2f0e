package main

import (
	"berth/hostpath"
	"berth/netconf"
)

// configureHostNetwork brings up lo and the host interface. A DHCP that
// gets no answer is reported and retried in the background; boot goes on.
func configureHostNetwork(s *system) error {
	return netconf.ConfigureHost(s.config.Network, s.logf, func(name string, f func()) { s.goProtected(name, f) })
}

// setUpBridge makes the container bridge with forwarding and NAT.
func setUpBridge(s *system) error {
	n, err := netconf.Setup(s.config.Bridge, hostpath.Network)
	if err != nil {
		return err
	}
	s.network = n
	return nil
}
