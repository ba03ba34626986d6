package hostmeta

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Container runtimes ContainerOf names.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
	RuntimeKubernetes = "kubernetes" // a kubepods cgroup that does not say which runtime
)

// ContainerOf returns the id of the container process pid runs in, read
// from procRoot/PID/cgroup (procRoot is /proc, or a copy in tests), and
// the runtime its cgroup path names. It knows the cgroup v1 and v2 paths
// of Docker (/docker/ID, docker-ID.scope), containerd
// (cri-containerd-ID.scope), CRI-O (crio-ID.scope), Podman
// (libpod-ID.scope) and Kubernetes (/kubepods/.../ID). ok is false for a
// process on the host, or one that is gone.
func ContainerOf(procRoot string, pid int) (id, runtime string, ok bool) {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if id, runtime, ok := containerOfPath(parts[2]); ok {
			return id, runtime, true
		}
	}
	return "", "", false
}

// containerOfPath finds a container id in one cgroup path, from its end.
func containerOfPath(p string) (string, string, bool) {
	comps := strings.Split(p, "/")
	for i := len(comps) - 1; i >= 0; i-- {
		c := strings.TrimSuffix(comps[i], ".scope")
		for _, pre := range []struct{ prefix, runtime string }{
			{"docker-", RuntimeDocker},
			{"cri-containerd-", RuntimeContainerd},
			{"crio-", RuntimeCRIO},
			{"libpod-", RuntimePodman},
		} {
			if rest, ok := strings.CutPrefix(c, pre.prefix); ok && isContainerID(rest) {
				return rest, pre.runtime, true
			}
		}
		if isContainerID(c) {
			parent := strings.Join(comps[:i], "/")
			switch {
			case strings.Contains(parent, "docker"):
				return c, RuntimeDocker, true
			case strings.Contains(parent, "libpod"):
				return c, RuntimePodman, true
			case strings.Contains(parent, "crio"):
				return c, RuntimeCRIO, true
			case strings.Contains(parent, "kubepods"):
				return c, RuntimeKubernetes, true
			case strings.Contains(parent, "containerd"):
				return c, RuntimeContainerd, true
			}
		}
	}
	return "", "", false
}

// isContainerID says s is a 64-digit lowercase hex id (what every runtime
// above uses; conmon's libpod-conmon-ID scopes fail it).
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// DefaultDockerSocket is where Docker (and Podman's Docker-compatible
// service, /run/podman/podman.sock) listen.
const DefaultDockerSocket = "/var/run/docker.sock"

// Images finds a container's image name through the runtime's socket and
// remembers it (a container's image never changes). It speaks the Docker
// Engine API, which Docker and Podman serve; containerd (gRPC) and CRI-O
// are not asked, so their containers have an id and no image.
type Images struct {
	// Sockets maps a runtime to its API socket; nil: Docker's at
	// DefaultDockerSocket and Podman's at /run/podman/podman.sock.
	Sockets map[string]string
	// Timeout bounds one lookup; 0: one second.
	Timeout time.Duration

	mu      sync.Mutex
	cache   map[string]string
	clients map[string]*http.Client
}

// maxImageCache bounds the cache (a host runs far fewer containers).
const maxImageCache = 4096

// Image returns the image of container id of runtime, "" when unknown.
func (m *Images) Image(ctx context.Context, runtime, id string) string {
	m.mu.Lock()
	if img, ok := m.cache[id]; ok {
		m.mu.Unlock()
		return img
	}
	sockets := m.Sockets
	if sockets == nil {
		sockets = map[string]string{RuntimeDocker: DefaultDockerSocket, RuntimePodman: "/run/podman/podman.sock"}
	}
	socket := sockets[runtime]
	if socket == "" {
		m.mu.Unlock()
		return ""
	}
	c := m.client(socket)
	m.mu.Unlock()

	img, err := dockerImage(ctx, c, id, m.Timeout)
	if err != nil {
		return "" // not remembered: the socket may come back
	}
	m.mu.Lock()
	if m.cache == nil || len(m.cache) >= maxImageCache {
		m.cache = map[string]string{}
	}
	m.cache[id] = img
	m.mu.Unlock()
	return img
}

// client returns the HTTP client of a unix socket (m.mu held).
func (m *Images) client(socket string) *http.Client {
	if c, ok := m.clients[socket]; ok {
		return c
	}
	if m.clients == nil {
		m.clients = map[string]*http.Client{}
	}
	c := &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	m.clients[socket] = c
	return c
}

// dockerImage asks the Docker Engine API for a container's image name
// (Config.Image: what it was started from, e.g. "nginx:1.25").
func dockerImage(ctx context.Context, c *http.Client, id string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/containers/"+url.PathEscape(id)+"/json", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("inspect container %s: %s", id, resp.Status)
	}
	var v struct {
		Config struct {
			Image string `json:"Image"`
		} `json:"Config"`
		Image string `json:"Image"` // the image id, when Config has no name
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&v); err != nil {
		return "", fmt.Errorf("inspect container %s: %w", id, err)
	}
	if v.Config.Image != "" {
		return v.Config.Image, nil
	}
	return v.Image, nil
}
