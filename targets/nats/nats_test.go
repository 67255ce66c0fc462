package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

func TestOptions(t *testing.T) {
	tg, err := New(map[string]string{"replicas": "1", "storage": "memory"})
	if err != nil || tg.replicas != 1 || tg.storage != Memory {
		t.Fatalf("%+v %v", tg, err)
	}
	if tg, _ := New(nil); tg.replicas != 3 || tg.storage != File {
		t.Errorf("defaults %+v, want replicas 3 on file", tg)
	}
	if tg, _ := New(map[string]string{"bucket": "app-1"}); tg.bucket != "app-1" {
		t.Errorf("bucket %q", tg.bucket)
	}
	for _, o := range []map[string]string{{"replicas": "0"}, {"replicas": "x"}, {"storage": "disk"}, {"nope": "1"}, {"bucket": "a.b"}} {
		_, err := New(o)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "nats: ") {
			t.Errorf("%v: %v", o, err)
		}
	}
}

// Every server is named after its node, routes to every other one, and
// keeps JetStream's store in its data directory.
func TestNodeArgs(t *testing.T) {
	var peers []targets.Peer
	for i := range 3 {
		peers = append(peers, targets.Peer{Name: fmt.Sprintf("n%d", i+1), Host: fmt.Sprintf("10.0.0.%d", i+1),
			Ports: map[string]int{targets.ClientPort: 4222, MonitorPort: 8222, "cluster": 6222}, DataDir: "/data"})
	}
	args := strings.Join(New0().Node(1, peers).Args, " ")
	for _, want := range []string{"--name n2", "--jetstream --store_dir /data", "--http_port 8222", "--port 4222",
		"--routes nats://10.0.0.1:6222,nats://10.0.0.3:6222", "--cluster_advertise 10.0.0.2:6222", "--cluster_name faultline"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if one := strings.Join(New0().Node(0, peers[:1]).Args, " "); strings.Contains(one, "--routes") {
		t.Errorf("a single server has routes: %s", one)
	}
}

func New0() *Target { t, _ := New(nil); return t }

// A publish nobody took, or that was never sent, certainly failed; one
// whose ack did not come may have been stored.
func TestClassifyWrite(t *testing.T) {
	for _, c := range []struct {
		err  error
		want history.Type
	}{
		{jetstream.ErrNoStreamResponse, history.Fail},
		{natsgo.ErrNoResponders, history.Fail},
		{natsgo.ErrReconnectBufExceeded, history.Fail},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}), history.Fail},
		{context.DeadlineExceeded, history.Info},
		{natsgo.ErrTimeout, history.Info},
		{natsgo.ErrConnectionClosed, history.Info},
		{errors.New("something else"), history.Info},
	} {
		if got := classifyWrite(c.err).Type; got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}

func TestValues(t *testing.T) {
	if got := string(records{{1, 7}, {3, 9}}.json()); got != "[[1,7],[3,9]]" {
		t.Errorf("records %s", got)
	}
	if got := string(records(nil).json()); got != "[]" {
		t.Errorf("no records %s", got)
	}
	if o := taken([]int64{4, 5}, nil); o.Type != history.OK || string(o.Data) != "[4,5]" {
		t.Errorf("taken %+v", o)
	}
	if o := taken([]int64{4}, errors.New("ack timed out")); o.Type != history.Info || string(o.Data) != "[4]" {
		t.Errorf("taken with an ack in doubt %+v", o)
	}
	if natsURL("http://127.0.0.1:4222") != "nats://127.0.0.1:4222" {
		t.Error(natsURL("http://127.0.0.1:4222"))
	}
}

// The client reads its shape from the workload's options, refuses bad
// ones, and supports exactly the queue and log operations.
func TestClientConfig(t *testing.T) {
	c, err := newClient(New0(), targets.ClientConfig{Workload: "queue", WorkloadOptions: map[string]string{"queues": "3", "batch": "5"}})
	if err != nil || !slices.Equal(c.queues, []string{"q0", "q1", "q2"}) || c.batch != 5 || len(c.streams) != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = newClient(New0(), targets.ClientConfig{Workload: "log"})
	if err != nil || len(c.streams) != 3 || c.batch != 10 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := newClient(New0(), targets.ClientConfig{Workload: "log", WorkloadOptions: map[string]string{"streams": "0"}}); err == nil {
		t.Error("streams=0 accepted")
	}
	for f, want := range map[string]bool{"enqueue": true, "dequeue": true, "drain": true, "send": true, "poll": true, "read-all": true, "read": true, "write": true, "cas": true, "txn": false} {
		if c.Supports(f) != want {
			t.Errorf("Supports(%q) = %v", f, !want)
		}
	}
}

// A refused update or create at a moved revision applied nothing.
func TestRevisionMoved(t *testing.T) {
	for _, code := range []jetstream.ErrorCode{jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant} {
		if !revisionMoved(fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: code})) {
			t.Errorf("code %d: not a moved revision", code)
		}
	}
	if revisionMoved(context.DeadlineExceeded) || revisionMoved(&jetstream.APIError{Code: 503, ErrorCode: 10008}) {
		t.Error("a timeout or an unavailable system taken for a moved revision")
	}
	if o, err := New(map[string]string{"kv-read": "direct"}); err != nil || o.kvRead != ReadDirect {
		t.Errorf("kv-read=direct: %+v %v", o, err)
	}
	if _, err := New(map[string]string{"kv-read": "follower"}); err == nil {
		t.Error("kv-read=follower accepted")
	}
}
