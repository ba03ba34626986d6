package k8saudit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
)

// Events written after the shape of the upstream audit documentation
// (kubernetes.io, "Auditing"; audit.k8s.io/v1 Event), as the log backend
// writes them: one compact JSON object a line.
const (
	execComplete = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5e1f1b6e-6b1c-4e4b-9b6a-2f0c9d1e7a10","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh\u0026container=api\u0026stdin=true\u0026stdout=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["203.0.113.9","10.0.0.4"],"userAgent":"kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3","objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9c","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2024-03-05T10:15:01.123456Z","stageTimestamp":"2024-03-05T10:17:44.000100Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\""}}`
	execReceived = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5e1f1b6e-6b1c-4e4b-9b6a-2f0c9d1e7a10","stage":"RequestReceived","requestURI":"/api/v1/namespaces/payments/pods/api-7d9c/exec?command=sh\u0026container=api\u0026stdin=true\u0026stdout=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["203.0.113.9","10.0.0.4"],"userAgent":"kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3","objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9c","apiVersion":"v1","subresource":"exec"},"requestReceivedTimestamp":"2024-03-05T10:15:01.123456Z","stageTimestamp":"2024-03-05T10:15:01.123456Z"}`
	forbidden    = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0a6c-forbidden","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets","verb":"list","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["198.51.100.23"],"userAgent":"curl/8.4.0","objectRef":{"resource":"secrets","namespace":"kube-system","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"secrets is forbidden: User \"system:anonymous\" cannot list resource \"secrets\"","reason":"Forbidden","details":{"kind":"secrets"},"code":403},"requestReceivedTimestamp":"2024-03-05T10:20:00.000000Z","stageTimestamp":"2024-03-05T10:20:00.001000Z"}`
)

func TestConvertMapsFields(t *testing.T) {
	var e event.Event
	if err := Convert([]byte(execComplete), &e); err != nil {
		t.Fatal(err)
	}
	want := map[event.FieldID]string{
		event.EventType: "kubernetes", event.User: "alice@example.com", event.EventName: "create",
		event.EventSource: "pods/exec", event.Namespace: "payments", event.ObjectName: "api-7d9c",
		event.SrcIP: "203.0.113.9", event.UserAgent: "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3",
	}
	for id, v := range want {
		if e.Str[id] != v || !e.Has(id) {
			t.Errorf("%s = %q, want %q", event.Get(id).Name, e.Str[id], v)
		}
	}
	// The request's arrival, not the end of the exec stream.
	if e.Int[event.EventTime] != 1709633701123 {
		t.Errorf("event_time %d, want the requestReceivedTimestamp's 1709633701123", e.Int[event.EventTime])
	}
	if !e.Has(event.ResponseCode) || e.Int[event.ResponseCode] != 101 || !e.Bool(event.Success) || e.Has(event.ErrorCode) {
		t.Errorf("response_code %d (set %v), success %v, error_code %q", e.Int[event.ResponseCode], e.Has(event.ResponseCode), e.Bool(event.Success), e.Str[event.ErrorCode])
	}
	if string(e.Raw) != execComplete {
		t.Error("raw is not the event as sent")
	}

	var f event.Event
	if err := Convert([]byte(forbidden), &f); err != nil {
		t.Fatal(err)
	}
	if f.Bool(event.Success) || f.Int[event.ResponseCode] != 403 || f.Str[event.ErrorCode] != "Forbidden" {
		t.Errorf("a 403: success %v, code %d, error_code %q", f.Bool(event.Success), f.Int[event.ResponseCode], f.Str[event.ErrorCode])
	}
	if f.Has(event.ObjectName) || f.Str[event.EventSource] != "secrets" {
		t.Errorf("a list has no object name (%q) and resource secrets (%q)", f.Str[event.ObjectName], f.Str[event.EventSource])
	}
	// A request logged without a response (RequestReceived) has no code
	// and says nothing about success.
	var r event.Event
	if err := Convert([]byte(execReceived), &r); err != nil {
		t.Fatal(err)
	}
	if r.Has(event.ResponseCode) || r.Has(event.Success) {
		t.Errorf("RequestReceived: response_code set %v, success set %v", r.Has(event.ResponseCode), r.Has(event.Success))
	}
}

// One request logs a record per stage with the same auditID: each is its
// own event, and the same record read twice is one.
func TestIDs(t *testing.T) {
	id := func(rec string) string {
		t.Helper()
		var e event.Event
		if err := Convert([]byte(rec), &e); err != nil {
			t.Fatal(err)
		}
		if e.Str[event.ID] == "" {
			t.Fatal("no _id")
		}
		return e.Str[event.ID]
	}
	if id(execComplete) == id(execReceived) {
		t.Error("two stages of one request share an _id")
	}
	if id(execComplete) != id(execComplete) {
		t.Error("the same record has two _ids")
	}
	// A client may choose the auditID (the Audit-ID header): a different
	// request reusing it is not a duplicate.
	reused := strings.Replace(execComplete, `"verb":"create"`, `"verb":"get"`, 1)
	if id(reused) == id(execComplete) {
		t.Error("a different record with the same auditID and stage shares its _id")
	}
}

// The inputs the API server's log backend and EKS exports give: JSON lines,
// a top-level array, pretty-printed events and CloudWatch Logs records
// whose message holds the event.
func TestShapes(t *testing.T) {
	pretty := "{\n  \"kind\": \"Event\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"auditID\": \"p1\",\n  \"stage\": \"ResponseComplete\",\n  \"verb\": \"get\",\n  \"requestURI\": \"/api/v1/namespaces/default/secrets/db\",\n  \"user\": {\"username\": \"bob\"},\n  \"objectRef\": {\"resource\": \"secrets\", \"namespace\": \"default\", \"name\": \"db\"},\n  \"responseStatus\": {\"code\": 200},\n  \"stageTimestamp\": \"2024-03-05T10:21:00Z\"\n}"
	cw := `{"timestamp":1709633701200,"message":` + quote(execComplete) + `,"ingestionTime":1709633702000}`
	for name, in := range map[string]string{
		"lines":      execReceived + "\n" + execComplete + "\n" + forbidden + "\n",
		"array":      "[" + execReceived + ",\n" + execComplete + ",\n" + forbidden + "]",
		"pretty":     pretty + "\n" + pretty + "\n" + pretty,
		"cloudwatch": cw + "\n" + cw + "\n" + cw + "\n",
	} {
		r := jsonrec.NewReader(bytes.NewReader([]byte(in)), event.MaxEventBytes)
		n := 0
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if !Looks(rec.Data) {
				t.Errorf("%s: record %d does not look like an audit event", name, rec.Index)
			}
			var e event.Event
			if err := Convert(rec.Data, &e); err != nil {
				t.Fatalf("%s record %d: %v", name, rec.Index, err)
			}
			if bytes.IndexByte(e.Raw, '\n') >= 0 || !bytes.Contains(e.Raw, []byte(`"auditID"`)) {
				t.Errorf("%s: raw is not the event on one line: %s", name, e.Raw)
			}
			n++
		}
		if n != 3 {
			t.Errorf("%s: %d events, want 3", name, n)
		}
	}
	var e event.Event
	if err := Convert([]byte(cw), &e); err != nil || string(e.Raw) != execComplete || e.Str[event.EventSource] != "pods/exec" {
		t.Errorf("CloudWatch record: %v, raw %s", err, e.Raw)
	}
}

func TestLooks(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if Looks([]byte(in)) != want {
			t.Errorf("Looks(%.60q) = %v", in, !want)
		}
	}
	f(execComplete, true)
	f(`{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2019-01-01T00:00:00Z"}`, true)
	f(`{"auditID":"x","verb":"get","requestURI":"/healthz"}`, true)
	// A core/v1 Event (kubectl get events -o json) is not an audit event.
	f(`{"kind":"Event","apiVersion":"v1","reason":"Pulled","message":"image pulled"}`, false)
	f(`{"verb":"get","message":"hello"}`, false)
	f(`{"message":"{\"nope\":1}"}`, false)
	f(`[1]`, false)
}

func TestConvertRejects(t *testing.T) {
	f := func(in, reason string) {
		t.Helper()
		var e event.Event
		err := Convert([]byte(in), &e)
		if event.ReasonOf(err) != reason {
			t.Errorf("%.60q: %v, want %s", in, err, reason)
		}
	}
	f(`{"kind":"Event","auditID":"x","verb":"get"}`, event.ReasonNoTime)
	f(`{"auditID":"x","stageTimestamp":"soon"}`, event.ReasonBadTime)
	f(`{"auditID":`, event.ReasonMalformed)
	f(`[1]`, event.ReasonNotObject)
	f(`{"message":"{\"auditID\":"}`, event.ReasonMalformed)
	f(`{"message":"{\"auditID\":1} "}`, event.ReasonNoTime)
	f("{\"auditID\":\"x\",\"stageTimestamp\":\"2024-01-01T00:00:00Z\",\"v\":\"\xff\"}", event.ReasonInvalidUTF8)
	f(strings.Repeat("[", 100000), event.ReasonMalformed)
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte(execComplete))
	f.Add([]byte(forbidden))
	f.Add([]byte(`{"message":` + quote(execReceived) + `}`))
	f.Add([]byte(`{"requestReceivedTimestamp":1709633701,"sourceIPs":"x","objectRef":{"resource":1},"responseStatus":{"code":1e99}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		Looks(in)
		var e event.Event
		if err := Convert(in, &e); err != nil {
			if event.ReasonOf(err) == "error" {
				t.Fatalf("unclassified rejection: %v", err)
			}
			return
		}
		if !e.Has(event.EventTime) || e.Str[event.EventType] != "kubernetes" || len(e.Raw) == 0 || e.Str[event.ID] == "" {
			t.Fatalf("accepted without time, type, raw or _id: %q", in)
		}
	})
}

// quote renders s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
