package jepsen

import (
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, s string) []any {
	t.Helper()
	d := NewDecoder(strings.NewReader(s))
	var out []any
	for {
		v, _, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		out = append(out, v)
	}
}

func TestEDNValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []any
	}{
		{"nil true false", []any{nil, true, false}},
		{"0 -7 +3 42N 9223372036854775807", []any{int64(0), int64(-7), int64(3), int64(42), int64(math.MaxInt64)}},
		{"1.5 -2e3 3.0M", []any{1.5, -2000.0, 3.0}},
		{`"a\tb\"c\\\u00e9"`, []any{"a\tb\"c\\é"}},
		{`\a \newline \u0041`, []any{Char('a'), Char('\n'), Char('A')}},
		{":invoke :jepsen.history/op foo/bar", []any{Keyword("invoke"), Keyword("jepsen.history/op"), Symbol("foo/bar")}},
		{"[1 [2 3] ()]", []any{[]any{int64(1), []any{int64(2), int64(3)}, []any{}}}},
		{"(:r 1 nil)", []any{[]any{Keyword("r"), int64(1), nil}}},
		{"#{1 2}", []any{Set{int64(1), int64(2)}}},
		{"{:a 1, :b [2]}", []any{Map{{Keyword("a"), int64(1)}, {Keyword("b"), []any{int64(2)}}}}},
		// Commas are whitespace, comments run to the end of the line, #_
		// discards the next form.
		{"1,2 ; three\n#_ 3 4 [5 #_ 6]", []any{int64(1), int64(2), int64(4), []any{int64(5)}}},
		// Tagged literals are read as the form they tag.
		{`#inst "2020-01-01T00:00:00Z" #jepsen.history.Op{:index 0}`, []any{"2020-01-01T00:00:00Z", Map{{Keyword("index"), int64(0)}}}},
		{"#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"", []any{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}},
		{"##Inf ##-Inf", []any{math.Inf(1), math.Inf(-1)}},
		{"; only a comment", nil},
		{"", nil},
	} {
		got := readAll(t, c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestEDNNaN(t *testing.T) {
	got := readAll(t, "##NaN")
	if f, ok := got[0].(float64); !ok || !math.IsNaN(f) {
		t.Fatalf("##NaN: got %#v", got)
	}
}

func TestEDNLines(t *testing.T) {
	d := NewDecoder(strings.NewReader("; header\n{:a 1}\n\n[1\n 2]\n"))
	for _, want := range []int{2, 4} {
		_, line, err := d.Next()
		if err != nil || line != want {
			t.Fatalf("line %d, %v; want line %d", line, err, want)
		}
	}
	if _, _, err := d.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestEDNErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		line int
		msg  string
	}{
		{"{:a 1}\n{:a 1 :b}", 2, "odd number"},
		{"[1 2\n3", 2, "'[' opened on line 1 is not closed"},
		{"1\n2 )", 2, "unexpected ')'"},
		{"\n\"abc", 2, "string opened on line 2 is not closed"},
		{`"\q"`, 1, `invalid escape \q`},
		{"\n\n99999999999999999999", 3, "out of the 64-bit range"},
		{"1.2.3", 1, "invalid number"},
		{"#:foo", 1, "want a tag"},
		{"##Foo", 1, "unknown symbolic value"},
		{"\\foo", 1, "invalid character literal"},
		{"{:a\n#_}", 2, "unexpected '}'"},
		{": x", 1, "invalid keyword"},
		{"#inst", 1, "tagged literal with no form"},
		{strings.Repeat("[", 600), 1, "nested more than"},
	} {
		d := NewDecoder(strings.NewReader(c.in))
		var err error
		for err == nil {
			_, _, err = d.Next()
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a syntax error", c.in, err)
			continue
		}
		if se.Line != c.line || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: got %q, want line %d and %q", c.in, err, c.line, c.msg)
		}
		if !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("%q: %q does not name the line", c.in, err)
		}
	}
}

func TestEDNString(t *testing.T) {
	in := `{:type :ok, :value [[:append 1 2] [:r "k" #{3}] nil 1.5]}`
	v := readAll(t, in)[0]
	if got := String(v); got != in {
		t.Fatalf("String: got %s, want %s", got, in)
	}
}
