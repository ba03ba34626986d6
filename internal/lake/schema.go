package lake

import (
	"fmt"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/event"
)

// requiredColumns are the typed fields every event has: no NULLs to encode.
// organization_id and date_key live inside the files: parts are shared by
// organizations and cover a day (docs/lake.md).
var requiredColumns = map[event.FieldID]bool{
	event.ID: true, event.EventTime: true, event.InsertTime: true, event.OrganizationID: true, event.DateKey: true,
}

// MetaColumn holds event.Event.Meta, the per-host metadata blocks of the
// original event, dictionary encoded: the events view shows them inside raw.
const MetaColumn = "meta"

// LiftedColumn holds event.Event.Lifted: which typed fields were lifted out
// of raw (so the original can be rebuilt exactly).
const LiftedColumn = "_lifted"

// column is one leaf column of a part and how an event fills it.
type column struct {
	index int           // leaf column index in the schema
	field event.FieldID // typed field, when kind != 0
	kind  event.Kind
	raw   bool // the raw column
	meta  bool // the meta column
	lift  bool // the _lifted column
	name  string
}

// partSchema is the one schema every events part has.
type partSchema struct {
	schema  *parquet.Schema
	columns []column // in leaf column order
}

func newPartSchema() *partSchema {
	g := parquet.Group{}
	for _, f := range event.Catalog() {
		var n parquet.Node
		switch f.Kind {
		case event.KindString:
			n = parquet.String()
			if f.Dict {
				n = parquet.Encoded(n, &parquet.RLEDictionary)
			}
		case event.KindInt:
			n = parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)
		case event.KindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case event.KindTime:
			n = parquet.Encoded(parquet.Timestamp(parquet.Millisecond), &parquet.DeltaBinaryPacked)
		case event.KindList:
			n = parquet.List(parquet.String())
		}
		if requiredColumns[f.ID] {
			g[f.Name] = parquet.Required(n)
		} else {
			g[f.Name] = parquet.Optional(n)
		}
	}
	// JSON text, typed as strings: parquet-go gives the JSON logical type
	// its own meaning (marshal the Go value) on the fast write path.
	g[event.RawColumn] = parquet.Required(parquet.String())
	g[MetaColumn] = parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
	g[LiftedColumn] = parquet.Required(parquet.Encoded(parquet.Int(64), &parquet.RLEDictionary))
	s := parquet.NewSchema("event", g)

	ps := &partSchema{schema: s}
	add := func(c column, path ...string) {
		leaf, ok := s.Lookup(path...)
		if !ok {
			panic(fmt.Sprintf("lake: column %v missing from schema", path))
		}
		c.index = leaf.ColumnIndex
		ps.columns = append(ps.columns, c)
	}
	for _, f := range event.Catalog() {
		c := column{field: f.ID, kind: f.Kind, name: f.Name}
		if f.Kind == event.KindList {
			add(c, f.Name, "list", "element")
		} else {
			add(c, f.Name)
		}
	}
	add(column{raw: true, name: event.RawColumn}, event.RawColumn)
	add(column{meta: true, name: MetaColumn}, MetaColumn)
	add(column{lift: true, name: LiftedColumn}, LiftedColumn)
	sort.Slice(ps.columns, func(i, j int) bool { return ps.columns[i].index < ps.columns[j].index })
	return ps
}
