package registry

import (
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/naivepaxos"
	"github.com/faultline/faultline/targets/nats"
	"github.com/faultline/faultline/targets/postgres"
	"github.com/faultline/faultline/targets/rabbitmq"
	"github.com/faultline/faultline/targets/raftkv"
	"github.com/faultline/faultline/targets/redis"
	"github.com/faultline/faultline/targets/rqlite"
	"github.com/faultline/faultline/targets/usersvc"
	"github.com/faultline/faultline/targets/zookeeper"
)

// The systems that ship with Faultline: one line each.
func init() {
	Register("etcd", func(opts map[string]string) (targets.Target, error) { return etcd.NewWithOptions(opts) })
	Register("raftkv", func(opts map[string]string) (targets.Target, error) { return raftkv.New(opts) })
	Register("naive-paxos", func(opts map[string]string) (targets.Target, error) { return naivepaxos.New(opts) })
	Register("postgres", func(opts map[string]string) (targets.Target, error) { return postgres.New(opts) })
	Register("nats", func(opts map[string]string) (targets.Target, error) { return nats.New(opts) })
	Register("rabbitmq", func(opts map[string]string) (targets.Target, error) { return rabbitmq.New(opts) })
	Register("rqlite", func(opts map[string]string) (targets.Target, error) { return rqlite.New(opts) })
	Register("usersvc", func(opts map[string]string) (targets.Target, error) { return usersvc.New(opts) })
	Register("zookeeper", func(opts map[string]string) (targets.Target, error) { return zookeeper.New(opts) })
	Register("redis", func(opts map[string]string) (targets.Target, error) { return redis.New(opts) })
}
