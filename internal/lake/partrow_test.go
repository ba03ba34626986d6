package lake

import (
	"testing"

	"github.com/parquet-go/parquet-go"
)

// The struct the writer fills must have exactly the part schema's shape:
// otherwise parquet-go silently takes its slow generic path.
func TestPartRowMatchesSchema(t *testing.T) {
	ps := newPartSchema()
	st := parquet.SchemaOf(new(partRow))
	if !parquet.EqualNodes(ps.schema, st) {
		t.Fatalf("partRow does not match the part schema:\nschema: %v\nstruct: %v", ps.schema, st)
	}
}
