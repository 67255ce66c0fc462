#!/bin/sh
# faultline-redis DATADIR PORT SENTINEL_PORT PRIMARY_HOST QUORUM DOWN_MS FAILOVER_MS
#
# Starts one node of a Redis primary/replica set with Sentinel: redis-server
# on PORT and, beside it in the same container, redis-sentinel on
# SENTINEL_PORT watching the set (named faultline). On its first start the
# node whose host is PRIMARY_HOST is the primary and every other node its
# replica; both configuration files live in DATADIR and are rewritten by
# Sentinel as it fails over, so a restarted node comes back in the role
# Sentinel last gave it. Both announce the container's address, which the
# harness reaches directly, and which stays the same across restarts.
set -eu
data=$1 port=$2 sport=$3 phost=$4 quorum=$5 down=$6 failover=$7
self=$(hostname)
addr() { getent hosts "$1" | awk '{print $1; exit}'; }
myip=$(addr "$self")
mkdir -p "$data/redis"
if [ ! -s "$data/redis.conf" ]; then
	# The primary's address: its name resolves once its container exists.
	until pip=$(addr "$phost") && [ -n "$pip" ]; do sleep 0.2; done
	{
		echo "port $port"
		echo "bind 0.0.0.0"
		echo "protected-mode no"
		echo "dir $data/redis"
		echo "save \"\""
		echo "appendonly yes"
		echo "appendfsync everysec"
		echo "replica-announce-ip $myip"
		echo "replica-serve-stale-data yes"
		echo "repl-diskless-sync yes"
		echo "repl-diskless-sync-delay 0"
		if [ "$phost" != "$self" ]; then echo "replicaof $pip $port"; fi
	} >"$data/redis.conf"
	{
		echo "port $sport"
		echo "bind 0.0.0.0"
		echo "protected-mode no"
		echo "dir $data"
		echo "sentinel resolve-hostnames yes"
		echo "sentinel announce-ip $myip"
		echo "sentinel monitor faultline $pip $port $quorum"
		echo "sentinel down-after-milliseconds faultline $down"
		echo "sentinel failover-timeout faultline $failover"
		echo "sentinel parallel-syncs faultline 2"
	} >"$data/sentinel.conf"
fi
redis-sentinel "$data/sentinel.conf" &
exec redis-server "$data/redis.conf"
