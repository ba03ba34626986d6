package hostmeta

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// imdsServer speaks IMDSv2 as EC2 does: a PUT for a session token (with a
// TTL header), then reads that carry it; a read without it is refused, as
// on an instance with IMDSv1 off.
func imdsServer(t *testing.T, v1Reads *atomic.Int64) *httptest.Server {
	t.Helper()
	const token = "AQAEAAtoken=="
	values := map[string]string{
		"/latest/meta-data/instance-id":                 "i-0598d4c63db69fbe3",
		"/latest/meta-data/instance-type":               "t2.micro",
		"/latest/meta-data/placement/region":            "us-east-2",
		"/latest/meta-data/placement/availability-zone": "us-east-2b",
		"/latest/meta-data/local-ipv4":                  "172.31.30.113",
		"/latest/dynamic/instance-identity/document": `{"accountId":"479609474799","architecture":"x86_64",` +
			`"availabilityZone":"us-east-2b","imageId":"ami-0c7478fd229861c57","instanceId":"i-0598d4c63db69fbe3",` +
			`"instanceType":"t2.micro","privateIp":"172.31.30.113","region":"us-east-2"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "bad token request", http.StatusBadRequest)
				return
			}
			w.Write([]byte(token))
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != token {
			v1Reads.Add(1)
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		v, ok := values[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCloudIMDSv2(t *testing.T) {
	var v1 atomic.Int64
	srv := imdsServer(t, &v1)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s, want loopback", srv.URL)
	}
	info, err := Cloud(context.Background(), CloudOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	want := CloudInfo{Provider: "aws", InstanceID: "i-0598d4c63db69fbe3", InstanceType: "t2.micro", Region: "us-east-2",
		AvailabilityZone: "us-east-2b", AccountID: "479609474799", ImageID: "ami-0c7478fd229861c57", PrivateIP: "172.31.30.113"}
	if info != want {
		t.Errorf("got %+v\nwant %+v", info, want)
	}
	if n := v1.Load(); n != 0 {
		t.Errorf("%d reads without a token (IMDSv1)", n)
	}
	f := info.Fields()
	if f["account_id"] != "479609474799" || f["cloud_provider"] != "aws" || f["instance_id"] != "i-0598d4c63db69fbe3" {
		t.Errorf("fields %v", f)
	}
	if _, ok := f["public_ip"]; ok {
		t.Errorf("public_ip without one: %v", f)
	}
}

func TestCloudOffAndUnreachable(t *testing.T) {
	if _, err := Cloud(context.Background(), CloudOptions{Off: true, BaseURL: "http://127.0.0.1:1"}); !errors.Is(err, ErrCloudOff) {
		t.Errorf("off: %v", err)
	}
	// A service that only speaks IMDSv1 (no token endpoint) is no answer.
	v1only := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "", http.StatusMethodNotAllowed)
			return
		}
		w.Write([]byte("i-1"))
	}))
	defer v1only.Close()
	if info, err := Cloud(context.Background(), CloudOptions{BaseURL: v1only.URL}); err == nil {
		t.Errorf("IMDSv1-only service answered: %+v", info)
	}
	// A service that never answers fails within the timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	if _, err := Cloud(context.Background(), CloudOptions{BaseURL: hang.URL, Timeout: 50 * time.Millisecond}); err == nil {
		t.Error("a silent service gave no error")
	}
	// Nothing listening.
	if _, err := Cloud(context.Background(), CloudOptions{BaseURL: "http://127.0.0.1:1"}); err == nil {
		t.Error("no service gave no error")
	}
}
