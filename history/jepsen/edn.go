package jepsen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The EDN values a Decoder returns. Vectors and lists are both []any (a
// history does not care which); maps keep their order; a tagged literal
// (#inst "...", #jepsen.history.Op{...}) is read as the form it tags, the tag
// dropped: Jepsen's records are maps, and nothing in a history depends on
// the tag.
type (
	// Keyword is :name (or :ns/name), without the colon.
	Keyword string
	// Symbol is a bare symbol other than nil, true and false.
	Symbol string
	// Char is a character literal (\a, \newline).
	Char rune
	// Set is #{...}.
	Set []any
	// Map is {...}, in the order written.
	Map []Entry
)

// Entry is one key and value of a Map.
type Entry struct{ Key, Value any }

// Get returns the value under a key named name: the keyword :name or the
// string "name" (JSON histories use strings).
func (m Map) Get(name string) (any, bool) {
	for _, e := range m {
		switch k := e.Key.(type) {
		case Keyword:
			if string(k) == name {
				return e.Value, true
			}
		case string:
			if k == name {
				return e.Value, true
			}
		}
	}
	return nil, false
}

// SyntaxError is a malformed EDN input, with the line it was found on.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Decoder reads EDN forms one after another (https://github.com/edn-format/edn):
// nil, booleans, integers (with an optional N), floats (with an optional M,
// and ##Inf, ##-Inf, ##NaN), strings, characters, keywords, symbols, lists,
// vectors, maps, sets, tagged literals, #_ discards, and ; comments. Commas
// are whitespace. It works on the whole input in memory: a history is read
// whole anyway, and scanning bytes in place is several times faster than
// rune by rune through a reader.
type Decoder struct {
	b []byte
	i int
	// srcErr is the error reading the source gave, returned when the bytes
	// read before it run out.
	srcErr error
	line   int
	// depth guards against a pathological input nesting without end.
	depth int
	// elemLines are the lines of the elements of the last top-level
	// sequence read: a whole history in one vector still names the line of
	// each op in an error.
	elemLines []int
	// keywords interns keywords: a history repeats a few dozen of them.
	keywords map[string]Keyword
	stack    []any
}

// maxDepth bounds nesting: a history op is a few levels deep.
const maxDepth = 512

// NewDecoder reads all of r, then decodes it.
func NewDecoder(r io.Reader) *Decoder {
	b, err := io.ReadAll(r)
	return &Decoder{b: b, srcErr: err, line: 1, keywords: map[string]Keyword{}}
}

// newBytesDecoder decodes b.
func newBytesDecoder(b []byte) *Decoder {
	return &Decoder{b: b, line: 1, keywords: map[string]Keyword{}}
}

// reset starts the decoder over on b, keeping its interned keywords.
func (d *Decoder) reset(b []byte) {
	*d = Decoder{b: b, line: 1, keywords: d.keywords, elemLines: d.elemLines[:0], stack: d.stack[:0]}
}

// Line is the line the decoder is on (1-based).
func (d *Decoder) Line() int { return d.line }

// Next reads the next top-level form and the line it starts on; io.EOF
// when only whitespace and comments are left.
func (d *Decoder) Next() (v any, line int, err error) {
	for {
		c, err := d.skip()
		if err != nil {
			return nil, d.line, err
		}
		line = d.line
		v, discard, err := d.form(c)
		if err != nil {
			return nil, line, err
		}
		if discard {
			continue
		}
		return v, line, nil
	}
}

func (d *Decoder) errf(format string, args ...any) error {
	return &SyntaxError{Line: d.line, Msg: fmt.Sprintf(format, args...)}
}

func (d *Decoder) eof() error {
	if d.srcErr != nil {
		return d.srcErr
	}
	return io.EOF
}

func (d *Decoder) read() (rune, error) {
	if d.i >= len(d.b) {
		return 0, d.eof()
	}
	if c := d.b[d.i]; c < utf8.RuneSelf {
		d.i++
		if c == '\n' {
			d.line++
		}
		return rune(c), nil
	}
	c, size := utf8.DecodeRune(d.b[d.i:])
	if c == utf8.RuneError && size == 1 {
		return 0, d.errf("invalid UTF-8")
	}
	d.i += size
	return c, nil
}

func (d *Decoder) unread(c rune) {
	d.i -= utf8.RuneLen(c)
	if c == '\n' {
		d.line--
	}
}

func isSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\f'
}

// skip passes whitespace and comments and returns the next rune.
func (d *Decoder) skip() (rune, error) {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '\n':
			d.line++
			d.i++
		case ' ', '\t', '\r', ',', '\f':
			d.i++
		case ';':
			for d.i < len(d.b) && d.b[d.i] != '\n' {
				d.i++
			}
		default:
			return d.read()
		}
	}
	return 0, d.eof()
}

// form reads the form that starts with c. discard says it was #_ form,
// to be ignored.
func (d *Decoder) form(c rune) (v any, discard bool, err error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return nil, false, d.errf("nested more than %d deep", maxDepth)
	}
	switch c {
	case '(':
		v, err := d.seq(')')
		return v, false, err
	case '[':
		v, err := d.seq(']')
		return v, false, err
	case '{':
		v, err := d.seq('}')
		if err != nil {
			return nil, false, err
		}
		return d.toMap(v)
	case ')', ']', '}':
		return nil, false, d.errf("unexpected %q", c)
	case '"':
		s, err := d.str()
		return s, false, err
	case '\\':
		r, err := d.char()
		return r, false, err
	case '#':
		return d.dispatch()
	}
	tok, err := d.token(c)
	if err != nil {
		return nil, false, err
	}
	v, err = d.atom(tok)
	return v, false, err
}

// seq reads forms up to the closing rune.
func (d *Decoder) seq(closing rune) ([]any, error) {
	start := d.line
	top := d.depth == 1
	if top {
		d.elemLines = d.elemLines[:0]
	}
	// Elements gather on a stack shared by every sequence and are copied
	// out once, at the right size, when the sequence closes.
	base := len(d.stack)
	defer func() { d.stack = d.stack[:base] }()
	for {
		c, err := d.skip()
		if errors.Is(err, io.EOF) {
			return nil, d.errf("unexpected end of input: %q opened on line %d is not closed", opening(closing), start)
		}
		if err != nil {
			return nil, err
		}
		if c == closing {
			return append(make([]any, 0, len(d.stack)-base), d.stack[base:]...), nil
		}
		line := d.line
		v, discard, err := d.form(c)
		if err != nil {
			return nil, err
		}
		if !discard {
			d.stack = append(d.stack, v)
			if top {
				d.elemLines = append(d.elemLines, line)
			}
		}
	}
}

func opening(closing rune) rune {
	switch closing {
	case ')':
		return '('
	case ']':
		return '['
	}
	return '{'
}

func (d *Decoder) toMap(v []any) (any, bool, error) {
	if len(v)%2 != 0 {
		return nil, false, d.errf("map with an odd number of forms (%d)", len(v))
	}
	m := make(Map, 0, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		m = append(m, Entry{v[i], v[i+1]})
	}
	return m, false, nil
}

// dispatch reads what follows #: a set, a discard, a symbolic value or a
// tagged literal.
func (d *Decoder) dispatch() (any, bool, error) {
	c, err := d.read()
	if err != nil {
		return nil, false, d.errf("unexpected end of input after #")
	}
	switch {
	case c == '{':
		v, err := d.seq('}')
		return Set(v), false, err
	case c == '_':
		next, err := d.skip()
		if err != nil {
			return nil, false, d.errf("#_ with nothing to discard")
		}
		_, _, err = d.form(next)
		return nil, true, err
	case c == '#':
		first, err := d.read()
		if err != nil {
			return nil, false, d.errf("unexpected end of input after ##")
		}
		tok, err := d.token(first)
		if err != nil {
			return nil, false, err
		}
		switch string(tok) {
		case "Inf":
			return math.Inf(1), false, nil
		case "-Inf":
			return math.Inf(-1), false, nil
		case "NaN":
			return math.NaN(), false, nil
		}
		return nil, false, d.errf("unknown symbolic value ##%s", tok)
	case c == ':' || isSpace(c) || strings.ContainsRune("()[]{}\"\\;#", c):
		return nil, false, d.errf("# followed by %q: want a tag, { or _", c)
	}
	// A tagged literal: #tag form. The tag is dropped (see the types).
	if _, err := d.token(c); err != nil {
		return nil, false, err
	}
	next, err := d.skip()
	if err != nil {
		return nil, false, d.errf("tagged literal with no form")
	}
	return d.form(next)
}

// token reads a bare token (number, keyword, symbol) starting with c, just
// read; it is a slice of the input.
func (d *Decoder) token(c rune) ([]byte, error) {
	start := d.i - utf8.RuneLen(c)
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r', ',', '\f', '(', ')', '[', ']', '{', '}', '"', ';':
			return d.b[start:d.i], nil
		}
		d.i++
	}
	return d.b[start:d.i], nil
}

func (d *Decoder) atom(tok []byte) (any, error) {
	switch string(tok) {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	c := tok[0]
	if c == ':' {
		if k, ok := d.keywords[string(tok[1:])]; ok {
			return k, nil
		}
		name := string(tok[1:])
		if name == "" || name[0] == ':' || strings.HasSuffix(name, "/") {
			return nil, d.errf("invalid keyword %q", tok)
		}
		d.keywords[name] = Keyword(name)
		return Keyword(name), nil
	}
	if c >= '0' && c <= '9' || (c == '-' || c == '+') && len(tok) > 1 && tok[1] >= '0' && tok[1] <= '9' {
		if n, ok := smallInt(tok); ok {
			return n, nil
		}
		return d.number(string(tok))
	}
	return Symbol(tok), nil
}

// smallInt parses a plain decimal integer of up to 18 digits, the common
// case, without allocating.
func smallInt(tok []byte) (int64, bool) {
	neg := false
	switch tok[0] {
	case '-':
		neg, tok = true, tok[1:]
	case '+':
		tok = tok[1:]
	}
	if len(tok) == 0 || len(tok) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func (d *Decoder) number(tok string) (any, error) {
	t := strings.TrimPrefix(tok, "+")
	if strings.HasSuffix(t, "N") {
		n, err := strconv.ParseInt(strings.TrimSuffix(t, "N"), 10, 64)
		if err != nil {
			return nil, d.errf("integer %s: %v (only 64-bit integers are read)", tok, errors.Unwrap(err))
		}
		return n, nil
	}
	if !strings.ContainsAny(t, ".eEM") {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			if ne := (*strconv.NumError)(nil); errors.As(err, &ne) && ne.Err == strconv.ErrRange {
				return nil, d.errf("integer %s out of the 64-bit range", tok)
			}
			return nil, d.errf("invalid number %q", tok)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(t, "M"), 64)
	if err != nil {
		return nil, d.errf("invalid number %q", tok)
	}
	return f, nil
}

func (d *Decoder) str() (string, error) {
	// Fast path: no escape before the closing quote.
	for j := d.i; j < len(d.b); j++ {
		if d.b[j] == '\\' {
			break
		}
		if d.b[j] == '"' {
			v := d.b[d.i:j]
			if !utf8.Valid(v) {
				break
			}
			d.line += bytes.Count(v, []byte{'\n'})
			d.i = j + 1
			return string(v), nil
		}
	}
	start := d.line
	var b strings.Builder
	for {
		c, err := d.read()
		if errors.Is(err, io.EOF) {
			return "", d.errf("unexpected end of input: string opened on line %d is not closed", start)
		}
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			e, err := d.read()
			if err != nil {
				return "", d.errf("unexpected end of input in a string escape")
			}
			switch e {
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '\\', '"', '\'':
				b.WriteRune(e)
			case 'u':
				r, err := d.hex4()
				if err != nil {
					return "", err
				}
				b.WriteRune(r)
			default:
				return "", d.errf("invalid escape \\%c in a string", e)
			}
		default:
			b.WriteRune(c)
		}
	}
}

func (d *Decoder) hex4() (rune, error) {
	var h [4]rune
	for i := range h {
		c, err := d.read()
		if err != nil {
			return 0, d.errf("unexpected end of input in a \\u escape")
		}
		h[i] = c
	}
	n, err := strconv.ParseUint(string(h[:]), 16, 32)
	if err != nil {
		return 0, d.errf("invalid \\u escape %q", string(h[:]))
	}
	return rune(n), nil
}

var charNames = map[string]rune{"newline": '\n', "return": '\r', "space": ' ', "tab": '\t', "formfeed": '\f', "backspace": '\b'}

func (d *Decoder) char() (Char, error) {
	c, err := d.read()
	if err != nil {
		return 0, d.errf("unexpected end of input after \\")
	}
	t, err := d.token(c)
	if err != nil {
		return 0, err
	}
	tok := string(t)
	if utf8.RuneCountInString(tok) == 1 {
		r, _ := utf8.DecodeRuneInString(tok)
		return Char(r), nil
	}
	if r, ok := charNames[tok]; ok {
		return Char(r), nil
	}
	if len(tok) == 5 && tok[0] == 'u' {
		if n, err := strconv.ParseUint(tok[1:], 16, 32); err == nil {
			return Char(rune(n)), nil
		}
	}
	return 0, d.errf("invalid character literal \\%s", tok)
}

// String renders v as EDN, compactly: what a register value or a fault's
// detail becomes when it is not a number or a string.
func String(v any) string {
	var b strings.Builder
	writeEDN(&b, v)
	return b.String()
}

func writeEDN(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		b.WriteString(strconv.Quote(x))
	case Keyword:
		b.WriteString(":" + string(x))
	case Symbol:
		b.WriteString(string(x))
	case Char:
		b.WriteString(`\` + string(rune(x)))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeEDN(b, e)
		}
		b.WriteByte(']')
	case Set:
		b.WriteString("#{")
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeEDN(b, e)
		}
		b.WriteByte('}')
	case Map:
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeEDN(b, e.Key)
			b.WriteByte(' ')
			writeEDN(b, e.Value)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}
