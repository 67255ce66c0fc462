package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// The register workload runs on JetStream's key-value store: one bucket
// (target option bucket), a key per register.
const defaultBucket = "faultline"

// KV read modes (target option kv-read).
const (
	// ReadLeader gets a key from the bucket stream's leader (the bucket is
	// made without direct gets).
	ReadLeader = "leader"
	// ReadDirect lets any replica answer a get (JetStream's default for
	// buckets): a follower behind the leader answers from its copy.
	ReadDirect = "direct"
)

// registerOps are the register workload's operations.
func isRegisterOp(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}

// kv is the bucket as seen through cn, bound once per connection.
func (cn *conn) kv(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	cn.mu.Lock()
	kv, js := cn.kvb, cn.js
	cn.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, err
	}
	cn.mu.Lock()
	cn.kvb = kv
	cn.mu.Unlock()
	return kv, nil
}

// doKV performs a register operation:
//
//	read   get: ok with the value, "" when the key is absent;
//	write  put: ok with its revision;
//	cas    get, compare the value with From ("" = absent), then update at
//	       the revision read (create when absent): a value that differs, or
//	       a revision that moved in between, applied nothing: fail.
func (c *client) doKV(ctx context.Context, cn *conn, op *history.Event) targets.Outcome {
	kv, err := cn.kv(ctx, c.t.bucket)
	if err != nil {
		return fail(err)
	}
	switch op.F {
	case history.FRead:
		e, err := kv.Get(ctx, op.Key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return targets.Outcome{Type: history.OK}
		}
		if err != nil {
			return fail(err) // a read that failed says nothing
		}
		return targets.Outcome{Type: history.OK, Value: string(e.Value()), Version: seqJSON(e.Revision())}
	case history.FWrite:
		rev, err := kv.Put(ctx, op.Key, []byte(op.Value))
		if err != nil {
			return classifyWrite(err)
		}
		return targets.Outcome{Type: history.OK, Version: seqJSON(rev)}
	case history.FCAS:
		var rev uint64
		e, err := kv.Get(ctx, op.Key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if op.From != "" {
				return targets.Outcome{Type: history.Fail, Error: "compare failed: the key is absent"}
			}
		case err != nil:
			return fail(fmt.Errorf("read before the compare: %w", err))
		default:
			if string(e.Value()) != op.From {
				return targets.Outcome{Type: history.Fail, Error: "compare failed"}
			}
			rev = e.Revision()
		}
		if rev == 0 {
			rev, err = kv.Create(ctx, op.Key, []byte(op.Value))
		} else {
			rev, err = kv.Update(ctx, op.Key, []byte(op.Value), rev)
		}
		if err != nil {
			if revisionMoved(err) {
				return targets.Outcome{Type: history.Fail, Error: "compare failed: the revision moved: " + err.Error()}
			}
			return classifyWrite(err)
		}
		return targets.Outcome{Type: history.OK, Version: seqJSON(rev)}
	}
	return fail(errors.New("nats: unsupported operation " + op.F))
}

// revisionMoved says an update or create was refused because the key's
// last revision was not the one expected (JetStream's wrong last sequence).
func revisionMoved(err error) bool {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// setupKV creates the bucket with the target's replicas and storage; with
// kv-read=leader its stream answers gets only from the leader.
func (c *client) setupKV(ctx context.Context, cn *conn) error {
	bucket := c.t.bucket
	storage := jetstream.FileStorage
	if c.t.storage == Memory {
		storage = jetstream.MemoryStorage
	}
	if _, err := cn.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Replicas: c.t.replicas, Storage: storage}); err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	st, err := cn.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	cfg := st.CachedInfo().Config
	if direct := c.t.kvRead == ReadDirect; cfg.AllowDirect != direct {
		cfg.AllowDirect = direct
		if _, err := cn.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bucket %s: allow_direct=%s: %w", bucket, strconv.FormatBool(direct), err)
		}
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if info.Cluster != nil && info.Cluster.Leader == "" {
		return fmt.Errorf("bucket %s has no leader yet", bucket)
	}
	cn.mu.Lock()
	cn.kvb = nil // bind again: the handle remembers whether gets are direct
	cn.mu.Unlock()
	return nil
}
