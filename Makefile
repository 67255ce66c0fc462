# Faultline: `make bench` runs the default benchmark, `make test` the tests.
GO  ?= go
BIN := bin/faultline

# testcontainers' reaper is an image that would have to be pulled; Faultline
# removes what it creates itself.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all build bench test lint clean-docker

all: build

build:
	$(GO) build -o $(BIN) ./cmd/faultline

# The default benchmark: 3-node etcd in Docker, leader partitioned under load,
# checked for linearizability; the run directory is printed at the end.
bench: build
	./$(BIN) run

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Integration tests run real clusters in Docker; -p 1 keeps two clusters from
# sharing 2 cores at once.
test: lint
	$(GO) test -race -p 1 -timeout 30m ./...

# Remove what runs that were killed left: containers, networks, namespaces,
# processes (of every run: live ones too).
clean-docker: build
	./$(BIN) clean --all
