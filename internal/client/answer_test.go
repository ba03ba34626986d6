package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The Spoor-Error trailer decides whether an answer ended early; the marker
// line counts only where the trailers did not come through, and is never
// printed. A row that looks like a marker stays a row when the server said
// there was no error.
func TestAnswerMarkers(t *testing.T) {
	for _, c := range []struct {
		name, format, body string
		trailer            *string // nil: no trailers declared (dropped by a proxy)
		want, wantErr      string
	}{
		{"ndjson trailer", "ndjson", "{\"i\":1}\n{\"error\":\"query timed out\"}\n", ptr("query timed out"), "{\"i\":1}\n", "query timed out"},
		{"ndjson no trailers", "ndjson", "{\"i\":1}\n{\"error\":\"query timed out\"}\n", nil, "{\"i\":1}\n", "query timed out"},
		{"ndjson error column", "ndjson", "{\"error\":\"a\"}\n{\"error\":\"b\"}\n", ptr(""), "{\"error\":\"a\"}\n{\"error\":\"b\"}\n", ""},
		{"json", "json", "[\n{\"i\":1},\n{\"i\":2},\n{\"error\":\"boom\"}\n]\n", ptr("boom"), "[\n{\"i\":1},\n{\"i\":2}\n]\n", "boom"},
		{"json no rows", "json", "[\n{\"error\":\"boom\"}\n]\n", nil, "[\n]\n", "boom"},
		{"json whole", "json", "[\n{\"i\":1}\n]\n", ptr(""), "[\n{\"i\":1}\n]\n", ""},
		{"csv", "csv", "i\n1\n# spoor error: boom\n", ptr("boom"), "i\n1\n", "boom"},
		{"csv whole", "csv", "i\n1\n", ptr(""), "i\n1\n", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.trailer != nil {
				w.Header().Set("Trailer", "Spoor-Error")
			}
			io.WriteString(w, c.body)
			if c.trailer != nil && *c.trailer != "" {
				w.Header().Set("Spoor-Error", *c.trailer)
			}
		}))
		ans, err := New(srv.URL, "t").Query(context.Background(), "/", nil, c.format)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(ans)
		ans.Close()
		srv.Close()
		if err != nil || string(got) != c.want {
			t.Errorf("%s: read %q, %v; want %q", c.name, got, err, c.want)
		}
		var se *StreamError
		switch {
		case c.wantErr == "" && ans.Err() != nil:
			t.Errorf("%s: error %v, want none", c.name, ans.Err())
		case c.wantErr != "" && (!errors.As(ans.Err(), &se) || se.Msg != c.wantErr):
			t.Errorf("%s: error %v, want %q", c.name, ans.Err(), c.wantErr)
		}
	}
}

func ptr(s string) *string { return &s }
