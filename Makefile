# Hive: make demo runs the seed's scenario on a hive it creates; make test runs the tests.
GO      ?= go
BIN     := bin/hive
PKGS    := ./...

.PHONY: all build install test test-deps bench demo run lint tools clean wordnet techvec techvec-check

all: build

# -buildvcs=auto: the version and commit from git, into the binary's build
# information (`hive version`), whatever GOFLAGS says.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/hive

# hive on PATH: $(PREFIX)/bin/hive (default ~/.local/bin/hive).
PREFIX ?= $(HOME)/.local
install: build
	mkdir -p $(PREFIX)/bin
	cp $(BIN) $(PREFIX)/bin/hive

# The tests: unit, fuzz seeds, the end-to-end scripts that run the real
# hive and git binaries, the web pages in a real browser, the README run as
# written, and make demo's script; then the MCP interoperability check with
# the official TypeScript SDK (node and npm; the SDK installed once, pinned).
test: test-deps
	$(GO) test -count=1 $(PKGS)
	bash mcp/testdata/interop/run.sh

# What the tests need besides Go and git: Debian's chromium for the browser
# tests (server/browser_test.go) and curl for the README's server section.
test-deps:
	@missing=; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$HIVE_CHROMIUM" ] || missing="$$missing chromium"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing for the tests"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

# Go benchmarks, then the scale run (hives of 1k, 10k and 100k traces, kept
# in .bench/ between runs) that writes .bench/scale.md, then every web page
# timed on the 100k hive, then the soak of hive serve under mixed load (SOAK
# long, 10 minutes unless set), which writes .bench/soak.md.
SOAK    ?= 10m
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./gitfmt ./odb ./schema ./signing ./registry ./trust
	HIVE_BENCH_100K=1 HIVE_BENCH_DIR=$(CURDIR)/.bench/search $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./search
	$(GO) run ./fixtures/cmd/hive-scale -sizes 1000,10000,100000 -out .bench
	HIVE_WEB_BENCH_N=100000 $(GO) test -run '^$$' -bench BenchmarkWebPages -benchtime 1x -timeout 60m ./server
	$(GO) run ./fixtures/cmd/hive-agents -size 100000 -out .bench
	$(GO) run ./fixtures/cmd/hive-soak -duration $(SOAK) -out .bench

demo: build
	bash docs/demo.sh $(CURDIR)/$(BIN)

# The federation server on 127.0.0.1:8080, serving the default hive
# ($XDG_DATA_HOME/hive/default, else ~/.local/share/hive/default: the hub's
# clone that make demo leaves there, else created empty on first use) unless
# HIVE_REPO is set.
run: build
	$(BIN) serve --addr $${HIVE_ADDR:-127.0.0.1:8080}

# cosign, to check hive's bundles with sigstore's own tool as
# ../shared/acceptance/core.sh does (make test uses sigstore-go instead).
tools:
	$(GO) install github.com/sigstore/cosign/v2/cmd/cosign@v2.4.3

# search/wordnet.bin from WordNet's database (apt-get install wordnet-base);
# make test checks that it regenerates identically where WordNet is installed.
wordnet:
	$(GO) run ./search/internal/wordnet/gen -dict /usr/share/wordnet -out search/wordnet.bin

# search/techvec.bin (and .versions) from Debian's documentation packages
# (search/TECHVEC-SOURCES): install them first with
#   apt-get install --no-install-recommends $$(go run ./search/internal/techvec/gen -packages)
# techvec-check says whether the committed table is what they give. It is
# not part of make test: Debian updates these packages (point releases,
# security fixes), and a test that failed then would fail every clean
# machine for a change in someone else's documentation.
techvec:
	$(GO) run ./search/internal/techvec/gen -out search/techvec.bin

techvec-check:
	$(GO) run ./search/internal/techvec/gen -check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

clean:
	rm -rf bin .bench .artefacts
