package hostmeta

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const cid = "9b8d314dd335d8d7eaa1b4bd1321b29651714376ac1771fed9b10f7fcebe8941"

// procTree writes a /proc-like tree with one cgroup file per pid.
func procTree(t *testing.T, cgroups map[int]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, text := range cgroups {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestContainerOf(t *testing.T) {
	cases := map[int]struct{ cgroup, id, runtime string }{
		1:  {"0::/init.scope\n", "", ""},
		2:  {"12:pids:/user.slice/user-1000.slice/session-3.scope\n0::/user.slice/user-1000.slice/session-3.scope\n", "", ""},
		10: {"12:memory:/docker/" + cid + "\n11:cpu,cpuacct:/docker/" + cid + "\n", cid, RuntimeDocker},
		11: {"0::/system.slice/docker-" + cid + ".scope\n", cid, RuntimeDocker},
		12: {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f3b.slice/cri-containerd-" + cid + ".scope\n", cid, RuntimeContainerd},
		13: {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/crio-" + cid + ".scope\n", cid, RuntimeCRIO},
		14: {"0::/machine.slice/libpod-" + cid + ".scope/container\n", cid, RuntimePodman},
		15: {"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + cid + ".scope\n", cid, RuntimePodman},
		16: {"0::/machine.slice/libpod-conmon-" + cid + ".scope\n", "", ""},
		17: {"11:devices:/kubepods/besteffort/pod0f3b6c2e-1111-2222-3333-444455556666/" + cid + "\n", cid, RuntimeKubernetes},
		18: {"5:cpuset:/docker/" + strings.ToUpper(cid) + "\n", "", ""},
		19: {"garbage without colons\n1:name=systemd:/docker/" + cid + "\n", cid, RuntimeDocker},
	}
	cg := map[int]string{}
	for pid, c := range cases {
		cg[pid] = c.cgroup
	}
	proc := procTree(t, cg)
	for pid, c := range cases {
		id, runtime, ok := ContainerOf(proc, pid)
		if ok != (c.id != "") || id != c.id || runtime != c.runtime {
			t.Errorf("pid %d (%q): %q %q %v, want %q %q", pid, c.cgroup, id, runtime, ok, c.id, c.runtime)
		}
	}
	if _, _, ok := ContainerOf(proc, 999); ok {
		t.Error("a missing pid is in a container")
	}
	// This process, on the real /proc, answers without error either way.
	ContainerOf("/proc", os.Getpid())
}

// The image name comes from the Docker Engine API on the runtime's unix
// socket, asked once per container.
func TestImages(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	asks := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asks++
		if r.URL.Path != "/containers/"+cid+"/json" {
			http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"Id":"` + cid + `","Image":"sha256:abc","Config":{"Image":"spring4shell"}}`))
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	m := &Images{Sockets: map[string]string{RuntimeDocker: sock}}
	for i := 0; i < 2; i++ {
		if img := m.Image(context.Background(), RuntimeDocker, cid); img != "spring4shell" {
			t.Errorf("image %q, want spring4shell", img)
		}
	}
	if asks != 1 {
		t.Errorf("%d requests, want 1 (cached)", asks)
	}
	if img := m.Image(context.Background(), RuntimeDocker, strings.Repeat("0", 64)); img != "" {
		t.Errorf("unknown container: %q", img)
	}
	if img := m.Image(context.Background(), RuntimeContainerd, strings.Repeat("1", 64)); img != "" {
		t.Errorf("containerd has no socket here: %q", img)
	}
}
