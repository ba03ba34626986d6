package gen

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Private addresses come from subnets that grow with an organization's
// fleet: 765 hosts (more than three /24s hold) in one organization are
// built at once, each with its own address.
func TestLargeFleetInOneOrg(t *testing.T) {
	for _, n := range []int{765, 1500} {
		done := make(chan []*org, 1)
		go func() {
			orgs, err := buildFleet(context.Background(), 1, n, 1, 1600000000000, 1, false)
			if err != nil {
				t.Error(err)
			}
			done <- orgs
		}()
		var orgs []*org
		select {
		case orgs = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("a fleet of %d hosts in one organization was not built in a minute", n)
		}
		seen := map[string]bool{}
		for _, h := range orgs[0].hosts {
			if seen[h.privateIP] {
				t.Fatalf("%d hosts: address %s given twice", n, h.privateIP)
			}
			seen[h.privateIP] = true
		}
		if len(seen) != n {
			t.Fatalf("%d hosts built, want %d", len(seen), n)
		}
	}
	if _, err := (Options{Hosts: MaxHostsPerOrg + 1, Orgs: 1, Scenarios: []string{}}).Normalize(); err == nil || !strings.Contains(err.Error(), "--orgs") {
		t.Fatalf("more hosts than one organization's addresses: %v, want an error naming --orgs", err)
	}
}

// Every address of a fleet of many organizations is a valid IPv4 address
// (each organization's VPC is a 10.N.0.0/16; organizations are separate
// customers, so two may use the same N).
func TestManyOrgsAddressesAreValid(t *testing.T) {
	orgs, err := buildFleet(context.Background(), 1, 600, 300, 1600000000000, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		for _, ip := range append([]string{o.bastion}, o.office...) {
			if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
				t.Fatalf("organization %d: address %q is not IPv4", o.idx, ip)
			}
		}
		for _, h := range o.hosts {
			if a, err := netip.ParseAddr(h.privateIP); err != nil || !a.IsPrivate() {
				t.Fatalf("organization %d: private address %q (%s) is not a private IPv4 address", o.idx, h.privateIP, h.hostname)
			}
		}
	}
}
