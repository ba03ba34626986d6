package formats

import (
	"strings"
	"testing"
)

// Kubernetes audit events are recognised on positive evidence only: the
// audit.k8s.io Event kind, or auditID with verb and requestURI.
func TestDetectKubernetes(t *testing.T) {
	f := func(head, want string) {
		t.Helper()
		got, ok := Detect([]byte(head))
		if !ok || got.Name != want {
			t.Errorf("%.50q: got %q (%v), want %s", head, got.Name, ok, want)
		}
	}
	f(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","stageTimestamp":"2024-03-05T10:15:01Z"}`, "kubernetes")
	f(`[{"auditID":"a1","verb":"get","requestURI":"/healthz","stageTimestamp":"2024-03-05T10:15:01Z"}]`, "kubernetes")
	f(`{"timestamp":1709633701200,"message":"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"a1\",\"verb\":\"get\",\"requestURI\":\"/x\"}"}`, "kubernetes")
	// A first record too long for the head goes by the keys it names.
	f(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"create","requestURI":"/api/v1/namespaces/default/pods","requestObject":{"x":"`+strings.Repeat("x", 70000)+``, "kubernetes")
	for _, name := range []string{"k8s", "kubernetes", "EKS"} {
		if got, err := ByName(name); err != nil || got.Name != "kubernetes" {
			t.Errorf("ByName(%q) = %q, %v", name, got.Name, err)
		}
	}
}
