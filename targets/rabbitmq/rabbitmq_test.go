package rabbitmq

import (
	"errors"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

func TestOptions(t *testing.T) {
	tg, err := New(map[string]string{"queue-type": "classic", "partition-handling": "autoheal"})
	if err != nil || tg.queueType != Classic || tg.partitionHandling != "autoheal" {
		t.Fatalf("%+v %v", tg, err)
	}
	if tg, _ := New(nil); tg.queueType != Quorum || tg.partitionHandling != "pause_minority" {
		t.Errorf("defaults %+v", tg)
	}
	for _, o := range []map[string]string{{"queue-type": "stream"}, {"partition-handling": "x"}, {"net-ticktime": "0"}, {"nope": "1"}} {
		_, err := New(o)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "rabbitmq: ") {
			t.Errorf("%v: %v", o, err)
		}
	}
}

// Every node is rabbit@<host>, lists every peer for classic_config, keeps
// its database in its data directory and shares the cookie.
func TestNode(t *testing.T) {
	tg, _ := New(nil)
	peers := []targets.Peer{{Name: "n1", Host: "n1", DataDir: "/data"}, {Name: "n2", Host: "n2", DataDir: "/data"}, {Name: "n3", Host: "n3", DataDir: "/data"}}
	ns := tg.Node(1, peers)
	if strings.Join(ns.Args, " ") != "pause_minority 0 n1 n2 n3" {
		t.Errorf("args %q", ns.Args)
	}
	env := strings.Join(ns.Env, " ")
	for _, want := range []string{"RABBITMQ_NODENAME=rabbit@n2", "RABBITMQ_MNESIA_BASE=/data", "FAULTLINE_COOKIE=" + cookie} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
	if tg.size.Load() != 3 {
		t.Errorf("cluster size %d, want 3", tg.size.Load())
	}
	if amqpURL("http://127.0.0.1:5672") != "amqp://guest:guest@127.0.0.1:5672/" {
		t.Error(amqpURL("http://127.0.0.1:5672"))
	}
}

func TestTaken(t *testing.T) {
	if o := taken([]int64{3, 4}, nil); o.Type != history.OK || string(o.Data) != "[3,4]" {
		t.Errorf("%+v", o)
	}
	if o := taken(nil, nil); o.Type != history.OK || string(o.Data) != "[]" {
		t.Errorf("empty %+v", o)
	}
	if o := taken([]int64{3}, errors.New("channel closed")); o.Type != history.Info || string(o.Data) != "[3]" {
		t.Errorf("in doubt %+v", o)
	}
	c, err := newClient(&Target{queueType: Quorum}, targets.ClientConfig{Workload: "queue", WorkloadOptions: map[string]string{"queues": "3", "batch": "2"}})
	if err != nil || len(c.queues) != 3 || c.batch != 2 || !c.Supports("drain") || c.Supports("poll") {
		t.Errorf("%+v %v", c, err)
	}
}
