package server

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/alert"
)

// k8sAudit is a short Kubernetes audit log as the API server's log backend
// writes it (audit.k8s.io/v1 Events, one a line): an exec into a pod (two
// stages of one request), a privileged pod and a cluster-admin binding.
const k8sAudit = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e1","stage":"RequestReceived","requestURI":"/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh","verb":"create","user":{"username":"alice@example.com"},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.28.2","objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9c","apiVersion":"v1","subresource":"exec"},"requestReceivedTimestamp":"2024-03-05T10:15:01.123456Z","stageTimestamp":"2024-03-05T10:15:01.123456Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh","verb":"create","user":{"username":"alice@example.com"},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.28.2","objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9c","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2024-03-05T10:15:01.123456Z","stageTimestamp":"2024-03-05T10:16:30.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"p1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"alice@example.com"},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.28.2","objectRef":{"resource":"pods","namespace":"default","name":"debug","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"debug"},"spec":{"hostPID":true,"containers":[{"name":"sh","image":"alpine","securityContext":{"privileged": true}}]}},"requestReceivedTimestamp":"2024-03-05T10:17:00.000000Z","stageTimestamp":"2024-03-05T10:17:00.020000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"b1","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create","user":{"username":"alice@example.com"},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.28.2","objectRef":{"resource":"clusterrolebindings","name":"backdoor","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"backdoor"},"subjects":[{"kind":"ServiceAccount","name":"default","namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"}},"requestReceivedTimestamp":"2024-03-05T10:18:00.000000Z","stageTimestamp":"2024-03-05T10:18:00.010000Z"}
`

// POST /api/v1/events reads a Kubernetes audit log by its content (JSON
// lines, or a top-level array as an EKS export holds them), stores its
// typed columns, answers filters on its nested fields in SQL the way the
// rules match them on ingest, and raises the default Kubernetes alerts.
func TestKubernetesAuditOverHTTP(t *testing.T) {
	f := start(t, Options{})
	code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(k8sAudit))
	var ans ingestAnswer
	json.Unmarshal(body, &ans)
	if code != 200 || ans.Accepted != 4 || ans.Rejected != 0 {
		t.Fatalf("sniffed JSON lines: %d %s, want 4 accepted", code, body)
	}
	// The same events as an array, named: all four are duplicates.
	arr := "[" + strings.ReplaceAll(strings.TrimSpace(k8sAudit), "\n", ",\n") + "]"
	code, body = call(t, "POST", f.url+"/api/v1/events?format=k8s", f.ingestA, []byte(arr))
	ans = ingestAnswer{}
	json.Unmarshal(body, &ans)
	if code != 200 || ans.Accepted != 0 || ans.Duplicates != 4 {
		t.Fatalf("the array of the same events: %d %s, want 4 duplicates", code, body)
	}
	sql := `{"sql": "SELECT user, event_name, event_source, namespace, object_name, src_ip, response_code, success, user_agent FROM events WHERE event_type = 'kubernetes' AND (raw->>'stage') = 'ResponseComplete' AND event_source = 'pods/exec'", "since": "2024-01-01"}`
	code, body = call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sql), "Accept", "application/json")
	want := `{"user":"alice@example.com","event_name":"create","event_source":"pods/exec","namespace":"payments","object_name":"api-7d9c","src_ip":"203.0.113.9","response_code":101,"success":true,"user_agent":"kubectl/v1.28.2"}`
	if code != 200 || !strings.Contains(string(body), want) {
		t.Errorf("typed columns: %d %s\nwant %s", code, body, want)
	}
	// The rules' nested-field tests, compiled to SQL, find what they
	// matched on ingest.
	for q, n := range map[string]int{
		`requestObject.spec contains '"privileged":true'`:                 1,
		`requestObject.roleRef.name = 'cluster-admin'`:                    1,
		`objectRef.namespace = 'payments' AND responseStatus.code >= 100`: 1,
		`event_type = 'kubernetes' AND user = 'alice@example.com'`:        4,
		`event_type = 'kubernetes' AND NOT stage = 'RequestReceived'`:     3,
		`event_source = 'pods/exec' AND response_code = null`:             1,
	} {
		code, body := call(t, "GET", f.url+"/api/v1/search?since=2024-01-01&query="+url.QueryEscape(q), f.analystA, nil)
		if got := countLines(body); code != 200 || got != n {
			t.Errorf("search %s: %d, %d events, want %d: %s", q, code, got, n, body)
		}
	}
	var list []alert.Alert
	code, body = call(t, "GET", f.url+"/api/v1/alerts", f.analystA, nil)
	json.Unmarshal(body, &list)
	got := map[string]int64{}
	for _, a := range list {
		got[a.Rule] += a.Count
	}
	for rule, n := range map[string]int64{"k8s-pod-exec": 1, "k8s-privileged-pod": 1, "k8s-cluster-admin-binding": 1} {
		if got[rule] != n {
			t.Errorf("alerts: %s raised %d times, want %d (all: %s)", rule, got[rule], n, body)
		}
	}
	if len(got) != 3 {
		t.Errorf("alerts %v, want only the three Kubernetes rules", got)
	}
}
