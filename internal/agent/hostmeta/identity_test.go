package hostmeta

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func host(t *testing.T, root, machineID string) {
	t.Helper()
	for path, text := range map[string]string{
		"etc/machine-id":            machineID + "\n",
		"etc/os-release":            "NAME=\"Amazon Linux\"\nVERSION_ID=\"2\"\nID=\"amzn\"\n",
		"proc/sys/kernel/osrelease": "5.10.106-102.504.amzn2.x86_64\n",
	} {
		p := filepath.Join(root, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIdentityStableUntilMachineIDChanges(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	host(t, root, "0f3c5e0a9b7d4e1f8a2b3c4d5e6f7a8b")
	addrs := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
			&net.IPNet{IP: net.ParseIP("18.117.250.34"), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("172.31.30.113"), Mask: net.CIDRMask(20, 32)},
		}, nil
	}
	o := Options{Root: root, Hostname: "web-1", Addrs: addrs}
	a, err := Load(state, o)
	if err != nil {
		t.Fatal(err)
	}
	if !validUUID(a.AgentID) || a.OSVersion != "amzn-2" || a.Kernel != "5.10.106-102.504.amzn2.x86_64" ||
		a.Hostname != "web-1" || a.PrivateIP != "172.31.30.113" || len(a.IPs) != 2 || a.MachineID == "" {
		t.Fatalf("identity %+v", a)
	}
	b, err := Load(state, o)
	if err != nil || b.AgentID != a.AgentID {
		t.Fatalf("agent_id changed across restarts: %s, then %s (%v)", a.AgentID, b.AgentID, err)
	}
	// The state directory copied with a cloned image to a new machine.
	host(t, root, "9a8b7c6d5e4f30211203948576abcdef")
	c, err := Load(state, o)
	if err != nil || c.AgentID == a.AgentID || !validUUID(c.AgentID) {
		t.Fatalf("cloned machine kept agent_id %s (%v)", c.AgentID, err)
	}
}
