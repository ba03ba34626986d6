package audit

import (
	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
)

// toSource renders an event of the auditd decoder in spoor's native shape:
// the typed fields under their Threat Stack keys (session and uid numbers,
// user a name, args a list), beside the decoder's Raw members (the
// coalesced event and its "records", which detection reads). A Raw member
// whose key a typed field takes is kept as audit_<key> (the coalesced
// "user" object of ids, say).
func toSource(e *event.Event) source.Event {
	var raw map[string]json.RawMessage
	if len(e.Raw) > 0 {
		_ = json.Unmarshal(e.Raw, &raw) // the decoder made it: one JSON object
	}
	out := make(source.Event, len(raw)+24)
	for k, v := range raw {
		out[k] = v
	}
	for _, f := range event.Catalog() {
		if !e.Has(f.ID) {
			continue
		}
		switch f.ID {
		case event.OrganizationID, event.InsertTime, event.DateKey:
			continue // the server's to set
		}
		key := f.Key
		if key == "" {
			key = f.Name
		}
		if v, ok := out[key]; ok {
			out["audit_"+key] = v
		}
		switch f.Kind {
		case event.KindString:
			out[key] = e.Str[f.ID]
		case event.KindInt, event.KindTime:
			out[key] = e.Int[f.ID]
		case event.KindBool:
			out[key] = e.Bool(f.ID)
		case event.KindList:
			out[key] = e.List(f.ID)
		}
	}
	return out
}
