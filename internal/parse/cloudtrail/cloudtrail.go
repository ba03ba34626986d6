// Package cloudtrail reads AWS CloudTrail records into spoor events. A
// record is one element of a delivery file's Records array or one JSON
// line; package jsonrec splits the input, Convert maps one record.
package cloudtrail

import (
	"bytes"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/valyala/fastjson"
)

var parsers fastjson.ParserPool

// Convert maps one CloudTrail record (an object's text) into e. The record
// is kept whole in Raw; typed fields repeat what analysts filter on.
func Convert(v []byte, e *event.Event) error {
	p := parsers.Get()
	defer parsers.Put(p)
	rec, err := parse.Object(p, v)
	if err != nil {
		return err
	}
	t := rec.Get("eventTime")
	if t == nil {
		// Records shipped through Logstash (OTRF's, say) may keep only
		// the shipper's time.
		t = rec.Get("@timestamp")
	}
	if t == nil {
		return &event.RejectError{Reason: event.ReasonNoTime, Detail: "no eventTime or @timestamp"}
	}
	ms, err := event.ParseTime(t.MarshalTo(nil))
	if err != nil {
		return err
	}
	e.SetInt(event.EventTime, ms)
	e.SetString(event.EventType, "cloudtrail")
	str := func(id event.FieldID, keys ...string) string {
		s := rec.GetStringBytes(keys...)
		if s == nil {
			return ""
		}
		e.SetString(id, string(s))
		return e.Str[id]
	}
	str(event.EventName, "eventName")
	str(event.EventSource, "eventSource")
	str(event.AWSRegion, "awsRegion")
	str(event.ErrorCode, "errorCode")
	str(event.UserAgent, "userAgent")
	str(event.SrcIP, "sourceIPAddress")
	str(event.UserType, "userIdentity", "type")
	str(event.UserARN, "userIdentity", "arn")
	if str(event.AccountID, "recipientAccountId") == "" {
		str(event.AccountID, "userIdentity", "accountId")
	}
	// The user: an IAM user's name; for an assumed role, the role's name
	// (the session issuer), which is what an analyst asks about.
	if str(event.User, "userIdentity", "userName") == "" {
		str(event.User, "userIdentity", "sessionContext", "sessionIssuer", "userName")
	}
	// A call with an errorCode failed.
	e.SetBool(event.Success, !e.Has(event.ErrorCode))
	if id := rec.GetStringBytes("eventID"); len(id) > 0 {
		e.SetString(event.ID, parse.HashID("cloudtrail", string(id)))
	}
	if bytes.IndexByte(v, '\n') >= 0 {
		// A pretty-printed record: store it compact, one line like the rest.
		v = rec.MarshalTo(make([]byte, 0, len(v)))
	} else {
		v = bytes.Clone(v)
	}
	e.Raw = v
	return nil
}

// Looks says whether one JSON record is a CloudTrail record.
func Looks(v []byte) bool {
	p := parsers.Get()
	defer parsers.Put(p)
	rec, err := p.ParseBytes(v)
	if err != nil || rec.Type() != fastjson.TypeObject {
		return false
	}
	return rec.Exists("eventSource") && rec.Exists("eventName") &&
		(rec.Exists("awsRegion") || rec.Exists("eventVersion"))
}

// AssumedRole returns the role of an assumed-role ARN
// ("arn:aws:sts::123:assumed-role/Role/session" gives "Role"), or "".
func AssumedRole(arn string) string {
	_, rest, ok := strings.Cut(arn, ":assumed-role/")
	if !ok {
		return ""
	}
	role, _, _ := strings.Cut(rest, "/")
	return role
}
