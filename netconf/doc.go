// Package netconf configures the host's network and the container bridge:
// DHCP or static addresses, the berth0 bridge, veth pairs into container
// network namespaces, IP allocation, and NAT and published ports with
// nftables. See docs/design.md, "Network".
package netconf
