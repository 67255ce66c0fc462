# Faultline: `make bench` runs the default benchmark, `make test` the tests.
GO  ?= go
BIN := bin/faultline

# testcontainers' reaper is an image that would have to be pulled; Faultline
# removes what it creates itself.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all build bench bench-systems bench-txn bench-queues bench-regressions bench-load test test-long lint clean-docker

all: build

build:
	$(GO) build -o $(BIN) ./cmd/faultline

# The default suite (suite/default.yaml): etcd (linearizable and serializable
# reads), raftkv and naive-paxos, each under no fault, partition and kill, and
# PostgreSQL (Debian's package, docker runtime) under partition, one run after
# another, each against its expected verdict; ends with results/index.html and
# the suite's wall time. Exit 0 only when every run gave its expected verdict.
# BENCH_FLAGS passes flags, e.g.
# make bench BENCH_FLAGS="--only 'raftkv-*'".
BENCH_FLAGS ?=
bench: build
	./$(BIN) suite --out results $(BENCH_FLAGS)

# The systems comparison (suite/systems.yaml): etcd, raftkv, naive-paxos and
# PostgreSQL, each under none, partition, kill and pause with the same load;
# results-systems/index.html is the matrix of systems x faults with verdict
# badges, small multiples per fault on shared axes and bars per system.
bench-systems: build
	./$(BIN) suite --suite suite/systems.yaml --out results-systems $(BENCH_FLAGS)

# The transactions suite (suite/txn.yaml): PostgreSQL at each isolation level
# under list-append, each against the verdict Elle gives it (docker runtime).
bench-txn: build
	./$(BIN) suite --suite suite/txn.yaml --out results-txn $(BENCH_FLAGS)

# Queues and logs (suite/queues.yaml): NATS JetStream under the queue and log
# workloads, R3 valid under partition and kill, R1 in memory invalid under kills.
bench-queues: build
	./$(BIN) suite --suite suite/queues.yaml --out results/queues $(BENCH_FLAGS)

# The regressions suite (suite/regressions.yaml): known bugs of real systems
# (etcd's robustness table first), each expected invalid on an affected version
# and valid on the fixed one (local runtime; etcd built with failpoints).
bench-regressions: build
	./$(BIN) suite --suite suite/regressions.yaml --out results-regressions $(BENCH_FLAGS)

# The load engine against a trivial HTTP server on 127.0.0.1: requests/s at
# full speed of raw vegeta, of Faultline recording every operation, and of
# wrk if installed; prints recorded/raw and recorded/wrk.
# FAULTLINE_BENCH_SECONDS and FAULTLINE_BENCH_ROUNDS change its length.
bench-load:
	$(GO) test -run '^$$' -bench '^BenchmarkLoadEngine$$' -benchtime 1x ./bench/load

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Integration tests run real clusters in Docker; -p 1 keeps two clusters from
# sharing 2 cores at once. -p 1 also compiles one package at a time, so the
# test binaries are compiled first, in parallel (running none of the tests).
test: lint
	$(GO) test -race -count=1 -run '^$$' ./... > /dev/null
	$(GO) test -race -count=1 -p 1 -timeout 30m ./...

# make test plus what the build tag long adds (files named long_test.go and
# targets_long_test.go): seed sweeps, the fault and workload variants make
# test leaves out (its kept runs: a correct and a known-bad mode of each
# target), longer campaigns. An hour or more.
test-long: lint
	$(GO) test -race -count=1 -tags long -run '^$$' ./... > /dev/null
	$(GO) test -race -count=1 -tags long -p 1 -timeout 4h ./...

# Remove what runs that were killed left: containers, networks, namespaces,
# processes (of every run: live ones too).
clean-docker: build
	./$(BIN) clean --all
