package lake

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/oklog/ulid/v2"
)

func parseULID(s string) (ulid.ULID, error) { return ulid.ParseStrict(s) }

func unescapePathValue(s string) string {
	if s == "__HIVE_DEFAULT_PARTITION__" {
		return ""
	}
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

var parquetMagic = []byte("PAR1")

// checkParquetFrame checks the cheap invariants of a Parquet file: magic at
// both ends and a footer length that fits. Deeper damage shows when a query
// reads the file; the store then quarantines it (see Quarantine).
func checkParquetFrame(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < 12 {
		return fmt.Errorf("not a parquet file: %d bytes", st.Size())
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return err
	}
	tail := make([]byte, 8)
	if _, err := f.ReadAt(tail, st.Size()-8); err != nil {
		return err
	}
	if !bytes.Equal(head, parquetMagic) || !bytes.Equal(tail[4:], parquetMagic) {
		return fmt.Errorf("not a parquet file: bad magic")
	}
	footer := int64(uint32(tail[0]) | uint32(tail[1])<<8 | uint32(tail[2])<<16 | uint32(tail[3])<<24)
	if footer <= 0 || footer > st.Size()-12 {
		return fmt.Errorf("not a parquet file: footer length %d of a %d-byte file", footer, st.Size())
	}
	return nil
}
