package jepsen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format is how a history file is written.
type Format string

const (
	// FormatAuto tells the format from the first bytes.
	FormatAuto Format = ""
	// FormatEDN is Jepsen's history.edn, Knossos' and Elle's test histories:
	// one op map per line, or one vector (or list) of op maps.
	FormatEDN Format = "edn"
	// FormatJSON is an array of op objects (Elle's, elle-cli's and
	// jepsen's history.json) or one object per line.
	FormatJSON Format = "json"
	// FormatLog is jepsen.log: lines "INFO  jepsen.util - PROCESS TYPE F
	// VALUE", other lines ignored.
	FormatLog Format = "log"
)

// ParseFormat accepts edn, json, log, and auto or "".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, nil
	case "edn":
		return FormatEDN, nil
	case "json", "jsonl":
		return FormatJSON, nil
	case "log", "txt", "jepsen.log":
		return FormatLog, nil
	}
	return "", fmt.Errorf("history format %q: want edn, json or log", s)
}

// rawOp is one op map as written, and the line it starts on.
type rawOp struct {
	line int
	m    Map
}

// detect tells the format of b from its first forms.
func detect(b []byte) Format {
	i := skipEDNSpace(b, 0)
	if i < len(b) && (b[i] == '[' || b[i] == '{') {
		j := i
		if b[i] == '[' {
			j = skipEDNSpace(b, i+1)
			if j >= len(b) || b[j] != '{' {
				if j < len(b) && b[j] == ']' {
					return FormatJSON
				}
				return FormatEDN
			}
		}
		// b[j] is '{': JSON objects open with a quoted key, EDN op maps
		// with a keyword.
		if k := skipEDNSpace(b, j+1); k < len(b) && b[k] == '"' {
			return FormatJSON
		}
		return FormatEDN
	}
	if i < len(b) && (b[i] == '(' || b[i] == '#') {
		return FormatEDN
	}
	if bytes.Contains(b, []byte(logMarker)) {
		return FormatLog
	}
	return FormatEDN
}

func skipEDNSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r', ',', '\f':
			i++
		case ';':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// readEDN reads op maps: top-level maps, or the maps of top-level vectors,
// lists or sets (a whole history in one form).
func readEDN(b []byte) ([]rawOp, error) {
	d := newBytesDecoder(b)
	var ops []rawOp
	for {
		v, line, err := d.Next()
		if errors.Is(err, io.EOF) {
			return ops, nil
		}
		if err != nil {
			return nil, err
		}
		var elems []any
		switch x := v.(type) {
		case Map:
			ops = append(ops, rawOp{line, x})
			continue
		case []any:
			elems = x
		case Set:
			elems = x
		default:
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("want an op map or a vector of op maps, got %s", clip(String(v)))}
		}
		lines := d.elemLines
		for i, e := range elems {
			m, ok := e.(Map)
			l := line
			if i < len(lines) {
				l = lines[i]
			}
			if !ok {
				return nil, &SyntaxError{Line: l, Msg: fmt.Sprintf("want an op map, got %s", clip(String(e)))}
			}
			ops = append(ops, rawOp{l, m})
		}
	}
}

// readJSON reads an array of op objects, or a stream of them (JSON Lines).
func readJSON(b []byte) ([]rawOp, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	lines := lineCounter{b: b}
	i := skipEDNSpace(b, 0)
	inArray := i < len(b) && b[i] == '['
	if inArray {
		if _, err := dec.Token(); err != nil {
			return nil, jsonErr(&lines, dec, err)
		}
	}
	var ops []rawOp
	for {
		if inArray && !dec.More() {
			if _, err := dec.Token(); err != nil {
				return nil, jsonErr(&lines, dec, err)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return nil, &SyntaxError{Line: lines.at(int(dec.InputOffset())), Msg: "JSON after the closing ]"}
			}
			return ops, nil
		}
		start := int(dec.InputOffset())
		var v any
		err := dec.Decode(&v)
		if !inArray && errors.Is(err, io.EOF) {
			return ops, nil
		}
		if err != nil {
			return nil, jsonErr(&lines, dec, err)
		}
		line := lines.at(skipEDNSpace(b, start))
		m, ok := fromJSON(v).(Map)
		if !ok {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("want an op object, got %s", clip(String(fromJSON(v))))}
		}
		ops = append(ops, rawOp{line, m})
	}
}

func jsonErr(lines *lineCounter, dec *json.Decoder, err error) error {
	off := int(dec.InputOffset())
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &SyntaxError{Line: lines.at(len(lines.b)), Msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{Line: lines.at(off), Msg: "JSON: " + err.Error()}
}

// lineCounter maps byte offsets, asked in increasing order, to lines.
type lineCounter struct {
	b    []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	if c.line == 0 {
		c.line = 1
	}
	if off < c.off {
		c.off, c.line = 0, 1
	}
	off = min(off, len(c.b))
	c.line += bytes.Count(c.b[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// fromJSON turns decoded JSON into the EDN values: objects become Maps
// (keys sorted, for a stable order), integers int64, other numbers float64.
func fromJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := make(Map, len(keys))
		for i, k := range keys {
			m[i] = Entry{k, fromJSON(x[k])}
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e)
		}
		return out
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// logMarker precedes an operation in jepsen.log: "INFO  jepsen.util - 0
// :invoke ..." in old logs, "INFO [2019-04-01 11:25:23,791] jepsen worker 1
// - jepsen.util 1 :invoke ..." in newer ones.
const logMarker = "jepsen.util"

// logTime is the timestamp layout of newer jepsen.log lines.
const logTime = "2006-01-02 15:04:05,000"

// logOp finds the operation in a log line: the text after the marker, and
// the line's timestamp when it has one.
func logOp(text string) (rest string, at time.Time, ok bool) {
	i := strings.Index(text, logMarker)
	if i < 0 {
		return "", time.Time{}, false
	}
	rest = text[i+len(logMarker):]
	switch {
	case strings.HasPrefix(rest, " - "):
		rest = rest[len(" - "):]
	case strings.HasPrefix(rest, " "):
		rest = rest[1:]
	default:
		return "", time.Time{}, false
	}
	if rest == "" || !(rest[0] >= '0' && rest[0] <= '9' || rest[0] == ':') {
		return "", time.Time{}, false
	}
	if a := strings.IndexByte(text[:i], '['); a >= 0 {
		if b := strings.IndexByte(text[a:i], ']'); b > 0 {
			at, _ = time.Parse(logTime, text[a+1:a+b])
		}
	}
	return rest, at, true
}

// readLog reads the operations jepsen.util logs: "PROCESS TYPE F VALUE
// [ERROR...]" after the marker, as EDN (tab or space separated). Other
// lines are ignored; a nemesis line that is not EDN (free text) is
// dropped, counted in dropped. When every operation line has a timestamp,
// ops get a :time from it (ns since the first; millisecond resolution).
func readLog(b []byte, dropped *int) ([]rawOp, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var ops []rawOp
	var stamps []time.Time
	timed := true
	d := newBytesDecoder(nil)
	for line := 1; sc.Scan(); line++ {
		rest, at, ok := logOp(sc.Text())
		if !ok {
			continue
		}
		d.reset([]byte(rest))
		var forms []any
		var err error
		for {
			var v any
			v, _, err = d.Next()
			if err != nil {
				break
			}
			forms = append(forms, v)
		}
		nemesis := len(forms) > 0 && name(forms[0]) == "nemesis" || strings.HasPrefix(rest, ":nemesis")
		if !errors.Is(err, io.EOF) || len(forms) < 3 {
			if nemesis {
				*dropped++
				continue
			}
			msg := "want PROCESS TYPE F VALUE after " + strconv.Quote(logMarker)
			var se *SyntaxError
			if errors.As(err, &se) {
				msg += ": " + se.Msg
			}
			return nil, &SyntaxError{Line: line, Msg: msg}
		}
		m := Map{{Keyword("process"), forms[0]}, {Keyword("type"), forms[1]}, {Keyword("f"), forms[2]}}
		if len(forms) > 3 {
			m = append(m, Entry{Keyword("value"), forms[3]})
		}
		if len(forms) > 4 {
			m = append(m, Entry{Keyword("error"), forms[4:]})
		}
		ops = append(ops, rawOp{line, m})
		stamps = append(stamps, at)
		timed = timed && !at.IsZero()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	if timed && len(ops) > 0 {
		for i := range ops {
			ops[i].m = append(ops[i].m, Entry{Keyword("time"), int64(stamps[i].Sub(stamps[0]))})
		}
	}
	return ops, nil
}

// name is a keyword's or a string's name ("" for anything else); a
// string may keep the keyword's colon (":invoke"), as some JSON writers do.
func name(v any) string {
	switch x := v.(type) {
	case Keyword:
		return string(x)
	case string:
		return strings.TrimPrefix(x, ":")
	case Symbol:
		return string(x)
	}
	return ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
