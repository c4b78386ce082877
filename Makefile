# Hive: make demo runs the seed's scenario on a hive it creates; make test runs the tests.
GO      ?= go
BIN     := bin/hive
PKGS    := ./...

.PHONY: all build test bench demo run lint tools clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hive

# The tests: unit, fuzz seeds, and the end-to-end scripts that run the real
# hive and git binaries; then the MCP interoperability check with the
# official TypeScript SDK (node and npm; the SDK is installed once, pinned).
test:
	$(GO) test -count=1 $(PKGS)
	bash mcp/testdata/interop/run.sh

# Go benchmarks, then the scale run (hives of 1k, 10k and 100k traces, kept
# in .bench/ between runs) that writes .bench/scale.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./schema ./signing ./registry
	$(GO) run ./fixtures/cmd/hive-scale -sizes 1000,10000,100000 -out .bench
	$(GO) run ./fixtures/cmd/hive-agents -size 100000 -out .bench

demo: build
	bash docs/demo.sh $(CURDIR)/$(BIN)

# The federation server on 127.0.0.1:8080, serving the default hive
# (~/.local/share/hive/default, created on first use) unless HIVE_REPO is set.
run: build
	$(BIN) serve --addr $${HIVE_ADDR:-127.0.0.1:8080}

# cosign, to check hive's bundles with sigstore's own tool as
# ../shared/acceptance/core.sh does (make test uses sigstore-go instead).
tools:
	$(GO) install github.com/sigstore/cosign/v2/cmd/cosign@v2.4.3

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

clean:
	rm -rf bin .bench
