#!/usr/bin/env bash
# Start-up speed of a 3-node etcd: the median of N runs (default 3) of
#   - `faultline cluster up` to healthy, on docker and on local (with and
#     without network namespaces), wall clock from the command's start to the
#     endpoints line, next to the launch-to-healthy time the command reports;
#   - 3 bare etcd processes started by hand on loopback with the flags the
#     local runtime gives them, from the first start to all three healthy.
# Images and binaries must be cached (run `faultline cluster up` once first).
# Usage: targets/runtime/bench/startup.sh [path/to/faultline] [runs]
set -euo pipefail
FL=${1:-bin/faultline}
N=${2:-3}
ETCD=$(ls ~/.cache/faultline/bin/etcd/v3.7.3-linux-*/etcd | head -1)
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

up() { # args: cluster up flags; prints "wall launch"
	local out; out=$(mktemp)
	local t0; t0=$(now)
	"$FL" cluster up --quiet "$@" >"$out" 2>&1 &
	local pid=$!
	until grep -q '^endpoints' "$out"; do
		kill -0 $pid 2>/dev/null || { cat "$out" >&2; exit 1; }
		sleep 0.01
	done
	local t1; t1=$(now)
	local launch; launch=$(sed -n 's/.*healthy in \([0-9.]*\)s/\1/p' "$out")
	kill -INT $pid; wait $pid || true
	rm -f "$out"
	echo "$(echo "$t1 - $t0" | bc) $launch"
}

bare() { # 3 etcd processes on loopback, same flags as the local runtime
	local d; d=$(mktemp -d)
	local cl="n1=http://127.0.0.1:22380,n2=http://127.0.0.1:22381,n3=http://127.0.0.1:22382"
	local pids=()
	local t0; t0=$(now)
	for i in 0 1 2; do
		"$ETCD" --name n$((i+1)) --data-dir "$d/n$((i+1))" \
			--listen-client-urls http://127.0.0.1:$((22379+i*10)) --advertise-client-urls http://127.0.0.1:$((22379+i*10)) \
			--listen-peer-urls http://127.0.0.1:$((22380+i)) --initial-advertise-peer-urls http://127.0.0.1:$((22380+i)) \
			--initial-cluster "$cl" --initial-cluster-state new --initial-cluster-token faultline \
			--logger zap --log-outputs stderr 2>"$d/n$((i+1)).log" &
		pids+=($!)
	done
	for i in 0 1 2; do
		until curl -s -m 1 http://127.0.0.1:$((22379+i*10))/health | grep -q '"health":"true"'; do sleep 0.01; done
	done
	local t1; t1=$(now)
	kill -9 "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
	rm -rf "$d"
	echo "$(echo "$t1 - $t0" | bc)"
}

report() { # name, then lines "wall [launch]"
	local name=$1 f; f=$(mktemp); cat >"$f"
	local wall launch
	wall=$(cut -d' ' -f1 "$f" | median)
	launch=$(cut -s -d' ' -f2 "$f" | median)
	printf '%-28s median wall %6.2fs  launch-to-healthy %s  (runs: %s)\n' "$name" "$wall" "${launch:--}" "$(cut -d' ' -f1 "$f" | xargs printf '%.2f ')"
	rm -f "$f"
}

if docker info >/dev/null 2>&1; then
	for _ in $(seq "$N"); do up --runtime docker; done | report "docker"
fi
if [ "$(id -u)" = 0 ]; then
	for _ in $(seq "$N"); do up --runtime local --netns on; done | report "local, namespaces"
fi
for _ in $(seq "$N"); do up --runtime local --netns off; done | report "local, loopback"
for _ in $(seq "$N"); do bare; done | report "3 bare etcd by hand"
