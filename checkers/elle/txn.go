package elle

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/faultline/faultline/history"
)

// FTxn is the operation function of a transaction.
const FTxn = "txn"

// Micro-operation kinds.
const (
	mAppend = 'a'
	mRead   = 'r'
	mWrite  = 'w'
)

// mop is one micro-operation: [f key value]. A read's value is list (list
// append) or val (register); isNil marks a read of nothing (null), which
// for a register is the initial state and for a list the empty list.
type mop struct {
	f     byte
	key   int32
	val   int64
	list  []int64
	isNil bool
}

// txn is a transaction operation of the history.
type txn struct {
	op   *history.Op
	typ  history.Type
	mops []mop
}

// parser reads Jepsen-style micro-operations from compact JSON without
// building a tree of interfaces: a history holds hundreds of thousands.
type parser struct {
	b   []byte
	i   int
	err error
}

func (p *parser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) fail(what string) {
	if p.err == nil {
		p.err = fmt.Errorf("at byte %d: want %s", p.i, what)
	}
}

func (p *parser) expect(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	p.fail(strconv.Quote(string(c)))
	return false
}

func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) str() string {
	if !p.expect('"') {
		return ""
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' {
		if p.b[p.i] == '\\' {
			// Escapes are rare in keys: hand the string to strconv.
			end := p.i
			for end < len(p.b) && p.b[end] != '"' {
				if p.b[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(p.b) {
				break
			}
			s, err := strconv.Unquote(string(p.b[start-1 : end+1]))
			if err != nil {
				p.fail("a JSON string")
			}
			p.i = end + 1
			return s
		}
		p.i++
	}
	if p.i >= len(p.b) {
		p.fail("a closing quote")
		return ""
	}
	s := string(p.b[start:p.i])
	p.i++
	return s
}

// token reads a bare JSON token (number, null, true, false).
func (p *parser) token() string {
	p.ws()
	start := p.i
	for p.i < len(p.b) && strings.IndexByte(",]} \n\t\r", p.b[p.i]) < 0 {
		p.i++
	}
	return string(p.b[start:p.i])
}

func (p *parser) int() int64 {
	t := p.token()
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		p.fail("an integer")
	}
	return n
}

// parseMops reads [["append","k",1],["r","k",[1,2]],["w",3,4],...]. Keys
// may be strings or integers (Jepsen's are integers); a micro-operation's
// function may carry Clojure's leading colon.
func parseMops(b []byte, keys *keyTable) ([]mop, error) {
	p := &parser{b: b}
	if !p.expect('[') {
		return nil, p.err
	}
	var out []mop
	if p.peek() == ']' {
		p.i++
		return out, nil
	}
	for p.err == nil {
		if !p.expect('[') {
			break
		}
		var m mop
		switch f := strings.TrimPrefix(p.str(), ":"); f {
		case "append":
			m.f = mAppend
		case "r":
			m.f = mRead
		case "w":
			m.f = mWrite
		default:
			p.fail(`a micro-operation "append", "r" or "w", not ` + strconv.Quote(f))
		}
		p.expect(',')
		var k string
		if p.peek() == '"' {
			k = p.str()
		} else {
			k = p.token()
			if _, err := strconv.ParseInt(k, 10, 64); err != nil {
				p.fail("a key (string or integer)")
			}
		}
		m.key = keys.id(k)
		p.expect(',')
		switch c := p.peek(); {
		case c == '[':
			p.i++
			m.list = []int64{}
			if p.peek() == ']' {
				p.i++
			} else {
				for p.err == nil {
					m.list = append(m.list, p.int())
					if p.peek() == ',' {
						p.i++
						continue
					}
					p.expect(']')
					break
				}
			}
		case c == 'n':
			if p.token() != "null" {
				p.fail("null")
			}
			m.isNil = true
		default:
			m.val = p.int()
		}
		if p.err != nil {
			break
		}
		if m.f != mRead && (m.isNil || m.list != nil) {
			p.fail("an integer value to append or write")
		}
		p.expect(']')
		out = append(out, m)
		if p.peek() == ',' {
			p.i++
			continue
		}
		p.expect(']')
		break
	}
	return out, p.err
}

// keyTable interns key names.
type keyTable struct {
	ids   map[string]int32
	names []string
}

func (t *keyTable) id(k string) int32 {
	if id, ok := t.ids[k]; ok {
		return id
	}
	id := int32(len(t.names))
	t.ids[k] = id
	t.names = append(t.names, k)
	return id
}

// formatMops renders micro-operations as people read them:
// [append k3 7] [r k4 [1 2]].
func formatMops(ms []mop, keys []string, readsKnown bool) string {
	var sb strings.Builder
	for i, m := range ms {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte('[')
		switch m.f {
		case mAppend:
			sb.WriteString("append ")
		case mWrite:
			sb.WriteString("w ")
		default:
			sb.WriteString("r ")
		}
		sb.WriteString(keys[m.key])
		sb.WriteByte(' ')
		switch {
		case m.f == mRead && !readsKnown:
			sb.WriteString("?")
		case m.f == mRead && m.list != nil:
			sb.WriteString(formatList(m.list, 0))
		case m.f == mRead && m.isNil:
			sb.WriteString("nil")
		default:
			sb.WriteString(strconv.FormatInt(m.val, 10))
		}
		sb.WriteByte(']')
	}
	return sb.String()
}

// formatList shows a list, eliding the middle of long ones; keep says how
// many elements at the end must stay visible (the ones an explanation is
// about).
func formatList(l []int64, keep int) string {
	var sb strings.Builder
	sb.WriteByte('[')
	head, tail := len(l), 0
	if len(l) > 12 {
		tail = max(6, keep)
		head = min(3, len(l)-tail)
		if head < 0 {
			head = 0
		}
	}
	for i := 0; i < head; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.FormatInt(l[i], 10))
	}
	if tail > 0 {
		if head > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "...(%d more)...", len(l)-head-tail)
		for _, v := range l[len(l)-tail:] {
			sb.WriteByte(' ')
			sb.WriteString(strconv.FormatInt(v, 10))
		}
	}
	sb.WriteByte(']')
	return sb.String()
}
