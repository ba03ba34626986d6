package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
	"github.com/spoor-dev/spoor/internal/testenv"
)

const assumedRole = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:i-08c9216f243e53fd4","arn":"arn:aws:sts::123456789012:assumed-role/ec2VpcRole/i-08c9216f243e53fd4","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/ec2VpcRole","userName":"ec2VpcRole"}}},"eventTime":"2020-09-17T17:16:01Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"3.91.1.2","userAgent":"aws-cli/1.18","errorCode":"Client.UnauthorizedOperation","eventID":"0b5a1d2e-1111-2222-3333-444455556666","recipientAccountId":"123456789012"}`

func TestConvertMapsFields(t *testing.T) {
	var e event.Event
	if err := Convert([]byte(assumedRole), &e); err != nil {
		t.Fatal(err)
	}
	want := map[event.FieldID]string{
		event.EventType: "cloudtrail", event.EventName: "DescribeInstances", event.EventSource: "ec2.amazonaws.com",
		event.UserType: "AssumedRole", event.UserARN: "arn:aws:sts::123456789012:assumed-role/ec2VpcRole/i-08c9216f243e53fd4",
		event.AWSRegion: "us-east-1", event.SrcIP: "3.91.1.2", event.UserAgent: "aws-cli/1.18",
		event.ErrorCode: "Client.UnauthorizedOperation", event.AccountID: "123456789012", event.User: "ec2VpcRole",
	}
	for id, v := range want {
		if e.Str[id] != v || !e.Has(id) {
			t.Errorf("%s = %q, want %q", event.Get(id).Name, e.Str[id], v)
		}
	}
	if e.Int[event.EventTime] != 1600362961000 {
		t.Errorf("event_time %d", e.Int[event.EventTime])
	}
	if e.Bool(event.Success) {
		t.Error("a call with an errorCode is not a success")
	}
	if string(e.Raw) != assumedRole {
		t.Error("raw is not the record as sent")
	}
	if AssumedRole(e.Str[event.UserARN]) != "ec2VpcRole" {
		t.Errorf("AssumedRole = %q", AssumedRole(e.Str[event.UserARN]))
	}
	// The same record read twice has the same _id.
	var again event.Event
	Convert([]byte(assumedRole), &again)
	if e.Str[event.ID] == "" || e.Str[event.ID] != again.Str[event.ID] {
		t.Errorf("ids %q and %q", e.Str[event.ID], again.Str[event.ID])
	}
}

func TestConvertRejects(t *testing.T) {
	f := func(in, reason string) {
		t.Helper()
		var e event.Event
		err := Convert([]byte(in), &e)
		if event.ReasonOf(err) != reason {
			t.Errorf("%q: %v, want %s", in, err, reason)
		}
	}
	f(`{"eventName":"X"}`, event.ReasonNoTime)
	f(`{"eventTime":"yesterday"}`, event.ReasonBadTime)
	f(`{"eventTime":`, event.ReasonMalformed)
	f(`[1]`, event.ReasonNotObject)
	f("{\"eventTime\":\"2020-01-01T00:00:00Z\",\"x\":\"\xff\"}", event.ReasonInvalidUTF8)
	f(strings.Repeat("[", 100000), event.ReasonMalformed)
}

// The Stratus delivery files: every record converts, pretty or not.
func TestStratusFiles(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/datasets/cloudtrail/stratus/CloudTrail/*.json")
	if len(files) == 0 {
		testenv.Missing(t, "the Stratus CloudTrail files are not at ../shared/datasets/cloudtrail/stratus")
	}
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		r := jsonrec.NewReader(bytes.NewReader(b), event.MaxEventBytes)
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			var e event.Event
			if err := Convert(rec.Data, &e); err != nil {
				t.Fatalf("%s record %d: %v", f, rec.Index, err)
			}
			n++
		}
	}
	if n < 2000 {
		t.Errorf("only %d records", n)
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte(assumedRole))
	f.Add([]byte(`{"eventTime":1600000000,"eventName":{"x":1},"userIdentity":"s"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var e event.Event
		if err := Convert(in, &e); err != nil {
			if event.ReasonOf(err) == "error" {
				t.Fatalf("unclassified rejection: %v", err)
			}
			return
		}
		if !e.Has(event.EventTime) || e.Str[event.EventType] != "cloudtrail" || len(e.Raw) == 0 {
			t.Fatalf("accepted without time, type or raw: %q", in)
		}
	})
}

// stratusFiles reads the Stratus delivery files for the benchmarks.
func stratusFiles(b *testing.B) ([][]byte, int64) {
	files, _ := filepath.Glob("../../../../shared/datasets/cloudtrail/stratus/CloudTrail/*.json")
	if len(files) == 0 {
		b.Skip("the Stratus CloudTrail files are not at ../shared/datasets/cloudtrail/stratus")
	}
	var out [][]byte
	var n int64
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, d)
		n += int64(len(d))
	}
	return out, n
}

// BenchmarkFiles reads the delivery files as spoor does: split into
// records, each converted. MB/s are of file bytes.
func BenchmarkFiles(b *testing.B) {
	files, n := stratusFiles(b)
	b.SetBytes(n)
	for b.Loop() {
		for _, d := range files {
			r := jsonrec.NewReader(bytes.NewReader(d), event.MaxEventBytes)
			for {
				rec, err := r.Next()
				if err != nil {
					break
				}
				var e event.Event
				if err := Convert(rec.Data, &e); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkBaselineEncodingJSON decodes the same files with encoding/json
// into maps, the way a script would, for comparison.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	files, n := stratusFiles(b)
	b.SetBytes(n)
	for b.Loop() {
		for _, d := range files {
			var f struct{ Records []map[string]any }
			if err := json.Unmarshal(d, &f); err != nil {
				b.Fatal(err)
			}
		}
	}
}
