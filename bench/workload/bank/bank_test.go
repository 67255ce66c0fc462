package bank_test

import (
	"encoding/json"
	"testing"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/history"
)

// Init first, one at a time, until one is acknowledged; reads meanwhile;
// then transfers between two different opened accounts within the bounds.
func TestGenerator(t *testing.T) {
	g, err := bank.Workload{}.New(workload.Config{Seed: 3, Options: map[string]string{"accounts": "3", "max-transfer": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	var op history.Event
	g.Next(&op)
	if op.F != bank.FInit {
		t.Fatalf("first op %s, want init", op.F)
	}
	var in bank.Init
	if err := json.Unmarshal(op.Data, &in); err != nil || len(in.Accounts) != 3 || in.Balance != bank.DefaultBalance {
		t.Fatalf("init %s: %v", op.Data, err)
	}
	var other history.Event
	g.Next(&other)
	if other.F != bank.FRead {
		t.Fatalf("with an init in flight: %s, want read", other.F)
	}
	g.Done(&history.Event{F: bank.FInit, Type: history.Info})
	g.Next(&other)
	if other.F != bank.FInit {
		t.Fatalf("after an unknown init: %s, want init again", other.F)
	}
	g.Done(&history.Event{F: bank.FInit, Type: history.OK})
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		var o history.Event
		g.Next(&o)
		counts[o.F]++
		if o.F != bank.FTransfer {
			continue
		}
		var tr bank.Transfer
		if err := json.Unmarshal(o.Data, &tr); err != nil {
			t.Fatal(err)
		}
		if tr.From == tr.To || tr.Amount < 1 || tr.Amount > 4 {
			t.Fatalf("transfer %s", o.Data)
		}
	}
	if counts[bank.FInit] != 0 || counts[bank.FRead] < 300 || counts[bank.FTransfer] < 300 {
		t.Errorf("mix %v", counts)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []workload.Config{
		{Options: map[string]string{"accounts": "1"}},
		{Options: map[string]string{"balance": "x"}},
		{Options: map[string]string{"frobs": "1"}},
		{Mix: "read:1,write:1"},
		{Mix: "read:0,transfer:0"},
	} {
		if _, err := (bank.Workload{}).New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if c, err := bank.Parse(workload.Config{Mix: "read:1,transfer:3"}); err != nil || c.ReadPct != 25 {
		t.Errorf("mix: %+v %v", c, err)
	}
}
