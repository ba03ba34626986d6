package rules

import (
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/k8saudit"
)

// k8sEvent builds a Kubernetes audit event (audit.k8s.io/v1, the shape the
// upstream audit documentation shows) read as spoor reads it. more holds
// extra members (requestObject, say); the code is responseStatus.code.
func k8sEvent(t *testing.T, user, verb, resource, sub, ns, name, uri string, code int, more string) *event.Event {
	t.Helper()
	obj := `"resource":"` + resource + `","apiVersion":"v1"`
	if ns != "" {
		obj += `,"namespace":"` + ns + `"`
	}
	if name != "" {
		obj += `,"name":"` + name + `"`
	}
	if sub != "" {
		obj += `,"subresource":"` + sub + `"`
	}
	rec := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"9f1b2c3d-aaaa-4bbb-8ccc-1234567890ab","stage":"ResponseComplete",` +
		`"requestURI":"` + uri + `","verb":"` + verb + `","user":{"username":"` + user + `","groups":["system:authenticated"]},` +
		`"sourceIPs":["203.0.113.50"],"userAgent":"kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9","objectRef":{` + obj + `},` +
		`"responseStatus":{"metadata":{},"code":` + strconv.Itoa(code) + `},` + more +
		`"requestReceivedTimestamp":"2024-03-05T10:15:01.000000Z","stageTimestamp":"2024-03-05T10:15:01.050000Z"}`
	e := new(event.Event)
	if err := k8saudit.Convert([]byte(rec), e); err != nil {
		t.Fatalf("convert %s: %v", rec, err)
	}
	return e
}

const (
	privilegedPod = `"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"debug","namespace":"default"},"spec":{"hostPID":true,"containers":[{"name":"sh","image":"alpine:3.19","command":["sleep","infinity"],"securityContext":{"privileged": true}}]}},`
	plainPod      = `"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default"},"spec":{"containers":[{"name":"web","image":"nginx:1.25","securityContext":{"privileged":false,"runAsNonRoot":true}}]}},`
	adminBinding  = `"requestObject":{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"backdoor"},"subjects":[{"kind":"ServiceAccount","name":"default","namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"}},`
	viewBinding   = `"requestObject":{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"readers"},"subjects":[{"kind":"Group","name":"auditors"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"}},`
)

// Every Kubernetes default rule compiles, lints clean, fires on its attack
// event and not on its near misses.
func TestKubernetesDefaultsFire(t *testing.T) {
	type tc struct {
		fires  *event.Event
		misses []*event.Event
	}
	cases := map[string]tc{
		"k8s-pod-exec": {
			fires: k8sEvent(t, "alice@example.com", "create", "pods", "exec", "payments", "api-7d9c", "/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh&stdin=true&tty=true", 101, ""),
			misses: []*event.Event{
				k8sEvent(t, "alice@example.com", "get", "pods", "log", "payments", "api-7d9c", "/api/v1/namespaces/payments/pods/api-7d9c/log", 200, ""),
				// refused by RBAC
				k8sEvent(t, "alice@example.com", "create", "pods", "exec", "payments", "api-7d9c", "/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh", 403, ""),
			},
		},
		"k8s-secrets-read": {
			fires: k8sEvent(t, "system:serviceaccount:default:web", "list", "secrets", "", "kube-system", "", "/api/v1/namespaces/kube-system/secrets", 200, ""),
			misses: []*event.Event{
				k8sEvent(t, "system:serviceaccount:kube-system:generic-garbage-collector", "list", "secrets", "", "kube-system", "", "/api/v1/namespaces/kube-system/secrets", 200, ""),
				k8sEvent(t, "system:node:ip-10-0-1-5.ec2.internal", "get", "secrets", "", "default", "db", "/api/v1/namespaces/default/secrets/db", 200, ""),
				k8sEvent(t, "system:serviceaccount:default:web", "get", "configmaps", "", "default", "app", "/api/v1/namespaces/default/configmaps/app", 200, ""),
			},
		},
		"k8s-privileged-pod": {
			fires: k8sEvent(t, "bob", "create", "pods", "", "default", "debug", "/api/v1/namespaces/default/pods", 201, privilegedPod),
			misses: []*event.Event{
				k8sEvent(t, "bob", "create", "pods", "", "default", "web", "/api/v1/namespaces/default/pods", 201, plainPod),
				// refused by admission (Pod Security)
				k8sEvent(t, "bob", "create", "pods", "", "default", "debug", "/api/v1/namespaces/default/pods", 403, privilegedPod),
			},
		},
		"k8s-cluster-admin-binding": {
			fires: k8sEvent(t, "bob", "create", "clusterrolebindings", "", "", "backdoor", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", 201, adminBinding),
			misses: []*event.Event{
				k8sEvent(t, "bob", "create", "clusterrolebindings", "", "", "readers", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", 201, viewBinding),
			},
		},
		"k8s-anonymous-access": {
			fires: k8sEvent(t, "system:anonymous", "list", "secrets", "", "kube-system", "", "/api/v1/namespaces/kube-system/secrets", 200, ""),
			misses: []*event.Event{
				k8sEvent(t, "system:anonymous", "list", "secrets", "", "kube-system", "", "/api/v1/namespaces/kube-system/secrets", 403, ""),
				k8sEvent(t, "system:anonymous", "get", "", "", "", "", "/healthz?verbose", 200, ""),
				k8sEvent(t, "bob", "list", "secrets", "", "kube-system", "", "/api/v1/namespaces/kube-system/secrets", 200, ""),
			},
		},
	}
	n := 0
	for _, r := range Defaults() {
		if r.Type != "kubernetes" {
			continue
		}
		n++
		c := mustCompile(t, r)
		if ws := Lint(r); len(ws) > 0 {
			t.Errorf("%s lints: %v", r.Name, ws)
		}
		if !strings.Contains(r.Description, "ATT&CK T") {
			t.Errorf("%s names no ATT&CK technique", r.Name)
		}
		tc, ok := cases[r.Name]
		if !ok {
			t.Errorf("default %s has no test event", r.Name)
			continue
		}
		if m, s := c.Match(tc.fires); !m || s {
			t.Errorf("%s does not fire on its attack event (matched %v, suppressed %v): %s", r.Name, m, s, tc.fires.Raw)
		}
		for i, e := range tc.misses {
			if m, _ := c.Match(e); m {
				t.Errorf("%s fires on near miss %d: %s", r.Name, i, e.Raw)
			}
		}
		// A Kubernetes rule does not fire on another rule's attack event.
		for other, o := range cases {
			if other == r.Name || (r.Name == "k8s-secrets-read" && other == "k8s-anonymous-access") {
				continue
			}
			if m, _ := c.Match(o.fires); m {
				t.Errorf("%s fires on %s's event", r.Name, other)
			}
		}
	}
	if n != len(cases) {
		t.Errorf("%d Kubernetes defaults, %d tested", n, len(cases))
	}
}
