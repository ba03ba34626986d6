package auditd

import (
	"bytes"
	stdjson "encoding/json"
	"slices"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// An audit envelope is how spoor's agent ships one audit event: the
// event's record lines as the host read them (Group's Records), with what
// the agent knows of the host, one JSON object a line:
//
//	{"_id":"…","agent_id":"…","audit_records":["type=SYSCALL msg=audit(…): …","type=EXECVE …"],
//	 "hostname":"web-1","pid":1632,"containerId":"…","container_runtime":"docker"}
//
// The server decodes the records with Whole, the decoder `spoor ingest`
// runs on audit.log files, so an event shipped by an agent is stored as the
// same records read from a file would be; then the envelope's _id,
// agent_id and containerId name it. hostname names records without node=;
// pid is the agent's (the records hold it too) and is not stored again.
// Other members are kept in Raw (under envelope_<key> where Raw has the
// key already).

// EnvelopeKey is the member that makes a JSON object an audit envelope.
const EnvelopeKey = "audit_records"

// ReasonBadEnvelope is the rejection of an envelope that cannot be read.
const ReasonBadEnvelope = "malformed audit envelope"

var envelopeMember = []byte(`"` + EnvelopeKey + `":`)

// envelopeTail is the end of envelopeMember. Every line of an ingest is
// searched for the member, and a search starting at '"' stops at each of a
// JSON line's many quotes: the tail's '_' is rarer (2k Threat Stack lines:
// 0.4 µs a line against 1.45 µs, 4% of an ingest's CPU).
var envelopeTail = envelopeMember[len(`"audit`):]

// MaybeEnvelope says, cheaply, whether line may be an audit envelope:
// Envelope tells for sure.
func MaybeEnvelope(line []byte) bool {
	return bytes.Contains(line, envelopeTail) && bytes.Contains(line, envelopeMember)
}

// envelopeKnown are the members Envelope reads itself.
var envelopeKnown = map[string]bool{"_id": true, "agent_id": true, EnvelopeKey: true, "hostname": true, "pid": true, "containerId": true}

// Envelope decodes line if it is an audit envelope (a JSON object with an
// audit_records member) and reports whether it was one; a line that is not
// is left alone. Its events go to out, named as the envelope says: the
// first takes the envelope's _id, any more (records that were more than one
// event) an _id derived from it. A record that cannot be read is rejected
// through out, numbered from 1 within audit_records; an envelope that
// cannot be read is returned as a *event.RejectError.
func (w *Whole) Envelope(line []byte, out parse.Output) (bool, error) {
	if !MaybeEnvelope(line) {
		return false, nil
	}
	if len(line) > event.MaxEventBytes {
		return true, &event.RejectError{Reason: event.ReasonTooLarge, Detail: strconv.Itoa(len(line)) + " bytes, limit " + strconv.Itoa(event.MaxEventBytes)}
	}
	// The usual envelope (the agent's: known members of the right kinds)
	// is read in one pass; anything else the slow way, which can say
	// what is wrong and keep members it does not know.
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if dec.Decode(&env) == nil && len(env.Records) > 0 && !dec.More() {
		return true, w.Decode(env.Hostname, env.Records, &envelopeOutput{out: out, id: env.ID, agent: env.AgentID, container: env.ContainerID})
	}
	env = envelope{}
	var m map[string]json.RawMessage
	// goccy's decoder takes a member's text as it is (`"k":{""}` too), and
	// the members it does not know go into Raw: the line is checked whole
	// first.
	if !stdjson.Valid(line) || json.Unmarshal(line, &m) != nil {
		return false, nil // not one JSON object: the line's own reader says why
	}
	recs, ok := m[EnvelopeKey]
	if !ok {
		return false, nil // the key was nested deeper
	}
	for _, f := range []struct {
		key string
		to  any
	}{{EnvelopeKey, &env.Records}, {"_id", &env.ID}, {"agent_id", &env.AgentID}, {"hostname", &env.Hostname}, {"containerId", &env.ContainerID}} {
		v, ok := m[f.key]
		if !ok {
			continue
		}
		want, kind := byte('"'), "a string"
		if f.key == EnvelopeKey {
			want, kind = '[', "an array of strings (record lines)"
		}
		v = bytes.TrimLeft(v, " \t\r\n")
		if len(v) == 0 || v[0] != want || json.Unmarshal(v, f.to) != nil {
			return true, &event.RejectError{Reason: ReasonBadEnvelope, Detail: f.key + ": want " + kind + ", got " + clip(string(v))}
		}
	}
	if len(env.Records) == 0 {
		return true, &event.RejectError{Reason: ReasonBadEnvelope, Detail: EnvelopeKey + " is empty: " + clip(string(recs))}
	}
	var extra []string
	for k := range m {
		if !envelopeKnown[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	named := &envelopeOutput{out: out, id: env.ID, agent: env.AgentID, container: env.ContainerID, extra: extra, members: m}
	return true, w.Decode(env.Hostname, env.Records, named)
}

// envelope is what Envelope reads of an envelope.
type envelope struct {
	ID          string          `json:"_id"`
	AgentID     string          `json:"agent_id"`
	Hostname    string          `json:"hostname"`
	ContainerID string          `json:"containerId"`
	PID         json.RawMessage `json:"pid"`
	Records     []string        `json:"audit_records"`
}

// envelopeOutput names the events of one envelope as it says.
type envelopeOutput struct {
	out                  parse.Output
	id, agent, container string
	extra                []string
	members              map[string]json.RawMessage
	n                    int
}

func (o *envelopeOutput) Event(e *event.Event) error {
	o.n++
	switch {
	case o.id != "" && o.n == 1:
		e.SetString(event.ID, o.id)
	case o.id != "":
		e.SetString(event.ID, parse.HashID(o.id, strconv.Itoa(o.n)))
	}
	if o.agent != "" {
		e.SetString(event.AgentID, o.agent)
	}
	if o.container != "" {
		e.SetString(event.ContainerID, o.container)
	}
	if len(o.extra) > 0 {
		e.Raw = o.withExtra(e.Raw)
	}
	return o.out.Event(e)
}

func (o *envelopeOutput) Reject(r parse.Rejection) { o.out.Reject(r) }
func (o *envelopeOutput) Count(what string, n int64) {
	o.out.Count(what, n)
}

// withExtra adds the envelope's other members to raw, a JSON object.
func (o *envelopeOutput) withExtra(raw []byte) []byte {
	var have map[string]json.RawMessage
	_ = json.Unmarshal(raw, &have) // the decoder wrote it: one object
	b := bytes.TrimRight(raw, " ")
	b = append([]byte(nil), b[:len(b)-1]...)
	for _, k := range o.extra {
		key := k
		if _, taken := have[key]; taken {
			key = "envelope_" + k
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, key)
		b = append(b, ':')
		b = append(b, o.members[k]...)
	}
	return append(b, '}')
}
