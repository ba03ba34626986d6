package lake

import (
	"bytes"
	"encoding/json"
	"github.com/spoor-dev/spoor/internal/testenv"
	"os"
	"path/filepath"
	"testing"
)

// seedSamples returns the raw Threat Stack event samples of
// ../shared/seeds/002 (Linux host, container, Windows), or skips.
func seedSamples(t testing.TB) [][]byte {
	t.Helper()
	matches, _ := filepath.Glob("../../../shared/seeds/002_*.txt")
	if len(matches) == 0 {
		testenv.Missing(t, "../shared/seeds/002 is absent: no Threat Stack samples to test with")
	}
	doc, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < len(doc); i++ {
		if doc[i] != '{' || !bytes.HasPrefix(bytes.TrimLeft(doc[i+1:], " \r\n"), []byte(`"agent_id"`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(doc[i:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("sample at byte %d: %v", i, err)
		}
		var c bytes.Buffer
		json.Compact(&c, raw)
		out = append(out, c.Bytes())
		i += int(dec.InputOffset()) - 1
	}
	if len(out) != 3 {
		t.Fatalf("found %d samples in seeds/002, want 3", len(out))
	}
	return out
}
