package checkers

import (
	"fmt"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// RegisterInput is one operation on a single-key register.
type RegisterInput struct {
	F     string // read, write, cas
	Value string // written value (write, cas)
	From  string // expected value (cas)
}

// RegisterOutput is what an operation returned; only reads return a value.
type RegisterOutput struct {
	Value string
}

// OpMeta rides along with each porcupine operation for the visualization.
type OpMeta struct {
	ID      uint64
	Process history.Process
	Node    string
	Type    history.Type
	// Pruned says the return time was moved (an unknown write seen by a read).
	Pruned bool
}

// RegisterModel is a register whose state is its current value; "" is the
// initial, absent value. Histories must be partitioned by key beforehand.
var RegisterModel = porcupine.Model{
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := state.(string)
		in := input.(RegisterInput)
		switch in.F {
		case history.FRead:
			return output.(RegisterOutput).Value == s, s
		case history.FWrite:
			return true, in.Value
		case history.FCAS:
			if s != in.From {
				return false, s
			}
			return true, in.Value
		}
		return false, s
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	DescribeOperation: func(input, output interface{}) string {
		in := input.(RegisterInput)
		switch in.F {
		case history.FRead:
			return fmt.Sprintf("read() -> %s", show(output.(RegisterOutput).Value))
		case history.FWrite:
			return fmt.Sprintf("write(%s)", in.Value)
		case history.FCAS:
			return fmt.Sprintf("cas(%s -> %s)", show(in.From), in.Value)
		}
		return in.F
	},
	DescribeState: func(state interface{}) string { return show(state.(string)) },
	DescribeOperationMetadata: func(info interface{}) string {
		m, ok := info.(OpMeta)
		if !ok {
			return ""
		}
		s := fmt.Sprintf("op %d, process %s, node %s, %s", m.ID, m.Process, m.Node, m.Type)
		if m.Pruned {
			s += " (unknown outcome; seen by a read, so it ended by then)"
		}
		return s
	},
}

func show(v string) string {
	if v == "" {
		return "nil"
	}
	return v
}
