package render

import (
	"bytes"
	"encoding/json"
	"strings"
)

// A streamed answer that fails after its first rows cannot change its HTTP
// status any more: it ends with an error marker instead, one its format's
// readers see and spoor's clients recognise (ErrorLine):
//
//	ndjson  a last line {"error": "..."}
//	json    a last array element {"error": "..."}, then the closing ]
//	csv     a last line "# spoor error: ..."
//	table   a last line "(answer cut short: ...)"

// CSVErrorPrefix starts the last line of a CSV answer that failed.
const CSVErrorPrefix = "# spoor error: "

// Fail ends w's answer with the error msg in place of the rows still due.
func Fail(w Writer, msg string) error {
	msg = strings.Join(strings.Fields(msg), " ") // one line
	if msg == "" {
		msg = "the answer ended early" // an empty marker would read as no marker
	}
	switch x := w.(type) {
	case *jsonW:
		b, _ := json.Marshal(map[string]string{"error": msg})
		if err := x.object(b); err != nil {
			return err
		}
		return x.Close()
	case *csvW:
		x.w.Flush()
		x.bw.WriteString(CSVErrorPrefix + msg + "\n")
		return x.bw.Flush()
	case *table:
		if !x.flowed && x.cols != nil {
			x.flow()
		}
		x.w.WriteString("(answer cut short: " + msg + ")\n")
		return x.w.Flush()
	}
	return w.Close()
}

// ErrorLine reports whether line is the error marker of format (ndjson,
// json or csv) and returns its message.
func ErrorLine(format string, line []byte) (string, bool) {
	line = bytes.TrimSpace(line)
	switch format {
	case "csv":
		msg, ok := bytes.CutPrefix(line, []byte(strings.TrimSpace(CSVErrorPrefix)))
		return string(bytes.TrimSpace(msg)), ok
	case "json", "ndjson":
		if !bytes.HasPrefix(line, []byte(`{"error":`)) {
			return "", false
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil || len(m) != 1 {
			return "", false
		}
		msg, ok := m["error"].(string)
		return msg, ok
	}
	return "", false
}
