// Package hostmeta says which host the agent runs on: its stable agent_id,
// hostname, OS, kernel and addresses (this file), and, from the cloud's
// instance metadata service and the container runtimes, where it runs.
package hostmeta

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// IdentityFile is the file under the state directory that keeps the
// agent_id and the machine-id it was made for.
const IdentityFile = "agent-id.json"

// Identity is the host as the agent sees it.
type Identity struct {
	AgentID   string
	MachineID string // /etc/machine-id, "" where there is none
	Hostname  string
	OSVersion string // ID-VERSION_ID of os-release: "ubuntu-22.04", "amzn-2"
	Kernel    string // the running kernel's release
	PrivateIP string // the first private IPv4 address, else the first global one
	IPs       []string
}

// Options says where to look; the zero value is the running host.
type Options struct {
	// Root prefixes /etc/machine-id, /etc/os-release and /proc (tests).
	Root string
	// Hostname replaces os.Hostname when set.
	Hostname string
	// Addrs replaces the interfaces' addresses when set.
	Addrs func() ([]net.Addr, error)
}

type stored struct {
	AgentID   string `json:"agent_id"`
	MachineID string `json:"machine_id"`
}

// Load returns the host's identity, with the agent_id kept in stateDir: the
// same across restarts, a new one when the machine-id changed (an image
// cloned to a new machine must not report as the old one).
func Load(stateDir string, o Options) (Identity, error) {
	id := Identity{MachineID: readFirstLine(filepath.Join(o.Root, "/etc/machine-id"))}
	var err error
	if id.AgentID, err = agentID(filepath.Join(stateDir, IdentityFile), id.MachineID); err != nil {
		return id, err
	}
	id.Hostname = o.Hostname
	if id.Hostname == "" {
		id.Hostname, _ = os.Hostname()
	}
	id.OSVersion = osVersion(filepath.Join(o.Root, "/etc/os-release"))
	id.Kernel = readFirstLine(filepath.Join(o.Root, "/proc/sys/kernel/osrelease"))
	addrs := o.Addrs
	if addrs == nil {
		addrs = net.InterfaceAddrs
	}
	if as, err := addrs(); err == nil {
		id.IPs, id.PrivateIP = addresses(as)
	}
	return id, nil
}

// agentID reads the stored agent_id, making a new one when there is none
// or it belongs to another machine-id.
func agentID(path, machineID string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("agent id: %w", err)
	}
	var s stored
	if err == nil && json.Unmarshal(b, &s) == nil && validUUID(s.AgentID) && s.MachineID == machineID {
		return s.AgentID, nil
	}
	s = stored{AgentID: newUUID(), MachineID: machineID}
	b, _ = json.Marshal(s)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("agent id: %w", err)
	}
	if _, err := atomicfile.Write(path, b, 0o600); err != nil {
		return "", fmt.Errorf("agent id: %w", err)
	}
	return s.AgentID, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func validUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	_, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	return err == nil
}

func readFirstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	return strings.TrimSpace(string(line))
}

// osVersion reads ID and VERSION_ID of an os-release file.
func osVersion(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var id, ver string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			ver = v
		}
	}
	if ver == "" {
		return id
	}
	return id + "-" + ver
}

// addresses lists the global unicast addresses and picks the private one.
func addresses(as []net.Addr) (all []string, private string) {
	for _, a := range as {
		n, ok := a.(*net.IPNet)
		if !ok || !n.IP.IsGlobalUnicast() {
			continue
		}
		all = append(all, n.IP.String())
		if private == "" && n.IP.To4() != nil && n.IP.IsPrivate() {
			private = n.IP.String()
		}
	}
	if private == "" && len(all) > 0 {
		private = all[0]
	}
	return all, private
}
