package client

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzAnswer: whatever body a server sends, reading it gives back no more
// than was sent, never a panic, and a body that ends in the format's error
// marker is an error to the reader when the trailers were lost.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte("{\"i\":1}\n{\"error\":\"x\"}\n"), uint8(0))
	f.Add([]byte("[\n{\"i\":1},\n{\"error\":\"x\"}\n]\n"), uint8(1))
	f.Add([]byte("i\n\"a\nb\"\n# spoor error: x\n"), uint8(2))
	f.Add([]byte("no newline at all"), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, fi uint8) {
		format := []string{"ndjson", "json", "csv"}[int(fi)%3]
		resp := &http.Response{Header: http.Header{}, Trailer: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		a := newAnswer(resp, format)
		out, err := io.ReadAll(a)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > len(body)+1 { // + the newline a json row may regain
			t.Fatalf("read %d bytes of a %d-byte body", len(out), len(body))
		}
		if a.Rows() < 0 {
			t.Fatalf("%d rows", a.Rows())
		}
		if bytes.HasSuffix(body, []byte("{\"error\":\"x\"}\n")) && format == "ndjson" && a.Err() == nil {
			t.Fatal("a body ending in the marker read as whole")
		}
	})
}
