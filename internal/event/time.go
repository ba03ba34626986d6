package event

import (
	"math"
	"strconv"
	"time"
)

// setTime reads an event time: epoch seconds, ms, µs or ns as a number or a
// string of digits, or an RFC 3339 string.
func setTime(e *Event, v []byte) error {
	ms, err := ParseTime(v)
	if err != nil {
		return err
	}
	e.SetInt(EventTime, ms)
	return nil
}

// ParseTime reads a JSON time value (its text) as epoch milliseconds.
func ParseTime(v []byte) (int64, error) {
	switch kindOf(v) {
	case vNumber:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, &RejectError{Reason: ReasonBadTime, Detail: shortErr(err)}
		}
		return epochToMS(f)
	case vString:
		s, _ := unquote(v)
		return ParseTimeString(s)
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: kindName(kindOf(v))}
}

// ParseTimeString reads epoch digits or an RFC 3339 time as epoch ms.
func ParseTimeString(s string) (int64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return epochToMS(f)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: strconv.Quote(truncate(s, 64))}
}

// epochToMS scales an epoch number by its magnitude: seconds, ms, µs or ns.
func epochToMS(f float64) (int64, error) {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, &RejectError{Reason: ReasonBadTime, Detail: "not a number"}
	case a < 1e11:
		return int64(math.Round(f * 1000)), nil
	case a < 1e14:
		return int64(f), nil
	case a < 1e17:
		return int64(f / 1e3), nil
	case a < 1e20:
		return int64(f / 1e6), nil
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: "out of range"}
}
