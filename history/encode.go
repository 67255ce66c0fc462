package history

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends e as one JSON object (no newline) to b. It produces the
// same document encoding/json would for Event, without reflection, because the
// recorder encodes every operation of a run on the hot path.
func AppendJSON(b []byte, e *Event) []byte {
	b = append(b, `{"time":`...)
	b = strconv.AppendInt(b, e.Time, 10)
	b = append(b, `,"type":"`...)
	b = append(b, e.Type.String()...)
	b = append(b, `","process":`...)
	if e.Process == Nemesis {
		b = append(b, `"nemesis"`...)
	} else {
		b = strconv.AppendInt(b, int64(e.Process), 10)
	}
	b = append(b, `,"f":`...)
	b = appendString(b, e.F)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, e.ID, 10)
	b = appendField(b, "key", e.Key)
	if len(e.Data) > 0 {
		b = appendRaw(b, "value", e.Data)
	} else {
		b = appendField(b, "value", e.Value)
	}
	b = appendField(b, "from", e.From)
	b = appendField(b, "node", e.Node)
	b = appendField(b, "error", e.Error)
	if f := e.Fault; f != nil {
		b = append(b, `,"fault":{"kind":`...)
		b = appendString(b, f.Kind)
		b = appendList(b, "nodes", f.Nodes)
		b = appendList(b, "links", f.Links)
		b = appendField(b, "detail", f.Detail)
		if f.ApplyNanos != 0 {
			b = append(b, `,"apply_ns":`...)
			b = strconv.AppendInt(b, f.ApplyNanos, 10)
		}
		b = append(b, '}')
	}
	if e.Final {
		b = append(b, `,"final":true`...)
	}
	if e.Intended != 0 {
		b = append(b, `,"intended":`...)
		b = strconv.AppendInt(b, e.Intended, 10)
	}
	if len(e.Version) > 0 {
		b = appendRaw(b, "version", e.Version)
	}
	return append(b, '}')
}

// appendRaw appends a JSON value as it is. A value that is not compact (a
// newline would split the JSON Lines record) or not valid is compacted, or
// written as a JSON string of its bytes, so one event is always one line.
func appendRaw(b []byte, name string, v []byte) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 && json.Valid(v) {
		return append(b, v...)
	}
	var c bytes.Buffer
	if json.Compact(&c, v) == nil {
		return append(b, c.Bytes()...)
	}
	return appendString(b, string(v))
}

func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendList(b []byte, name string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD as in
// encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
