# stacksync — see README.md.
GO          ?= go
DISTDIR     ?= dist
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT  ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# Where integration tools (versitygw, pulumi, pulumi-language-yaml) are
# cached, outside the repo. integration/scripts/tools.sh fills it.
export STACKSYNC_CACHE ?= $(HOME)/.cache/stacksync

.PHONY: build dist test unit fuzz integration tools lint api bench bench-compare demo fixtures reliability clean

build:
	$(GO) build -o bin/stacksync ./cmd/stacksync

## dist: cross-compile static release binaries for linux, darwin and
## windows on amd64 and arm64 into $(DISTDIR)/$(VERSION)/ (DISTDIR is
## dist by default), named as the GitHub release assets of tag $(VERSION)
## (archives and SHA256SUMS), so that serving $(DISTDIR) over HTTP stands
## in for the release download.
##   make dist VERSION=v0.1.0
dist:
	scripts/dist.sh "$(VERSION)" "$(DISTDIR)"

## test: unit tests, a short run of every fuzz target, then the end-to-end
## suite against real servers and pulumi.
test: unit
	$(MAKE) fuzz FUZZTIME=4s
	$(MAKE) integration

unit:
	$(GO) test ./...

## fuzz: run every fuzz target (checkpoint decoder, URL parser, stack-key
## parser, settings editor) for FUZZTIME each, from the seeds in the code
## and testdata/fuzz. New failures are written to testdata/fuzz: commit
## them with the fix.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in ./pkg/state ./pkg/settings; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

integration: tools
	cd integration && $(GO) test -count=1 -timeout 60m ./...

tools:
	integration/scripts/tools.sh

## lint: no large or binary file tracked (scripts/check-tracked.sh), the
## exported API as recorded in api/stacksync.txt, then gofmt, vet,
## staticcheck and actionlint.
lint:
	scripts/check-tracked.sh
	@$(GO) build -o bin/apilist ./scripts/apilist && bin/apilist -check api/stacksync.txt
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd integration && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd integration && $(GO) run $(STATICCHECK) ./...
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml integration/testdata/action/*.yml

## api: rewrite api/stacksync.txt, the exported API of every non-main
## package with the count of functions, types and methods per package.
## Review its diff: each new exported name is a decision.
api:
	$(GO) run ./scripts/apilist -o api/stacksync.txt

## bench: Go benchmarks of the read path and of restore --all and check
## over 1,000 to 10,000 stacks, then whole-process timings of restore and
## audit against versitygw, then bench-compare (figures in
## docs/performance.md).
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
	$(GO) test -run '^$$' -bench Scaling -benchtime 3x -timeout 60m ./cmd/stacksync
	cd integration && $(GO) test -run '^$$' -bench RestoreS3 -benchtime 20x .
	cd integration && $(GO) test -run '^$$' -bench AuditS3 -benchtime 3x -timeout 60m .
	cd integration && $(GO) test -run '^$$' -bench RestoreAllVsAudit -benchtime 3x .
	$(MAKE) bench-compare

## bench-compare: whole processes side by side on one versitygw, at 0 ms
## and BENCH_DELAY per request (a latency proxy): stacksync restore against
## pulumi stack export and the investigation's workaround, stacksync audit
## against pulumi stack ls --all and a bare list + ranged GET program
## (integration/cmd/barelist), each -j of BENCH_JOBS. Then, on each other
## backend of BENCH_BACKENDS (gs on fake-gcs-server, azblob on Azurite,
## postgres on PostgreSQL), restore against pulumi stack export and audit
## of BENCH_BACKEND_STACKS stacks against pulumi stack ls --all. Prints
## medians, peak RSS and ratios and regenerates the side-by-side section
## of BENCH_DOC (empty: print only). Needs python3 with PyYAML. A quick run:
##   make bench-compare BENCH_STACKS=200 BENCH_RUNS=3 BENCH_AUDIT_RUNS=1 BENCH_BACKEND_STACKS=200 BENCH_DOC=
BENCH_STACKS         ?= 1000,10000
BENCH_RUNS           ?= 15
BENCH_AUDIT_RUNS     ?= 3
BENCH_DELAY          ?= 20ms
BENCH_JOBS           ?= 16,32,64,128
BENCH_BACKENDS       ?= s3,gs,azblob,postgres
BENCH_BACKEND_STACKS ?= 300
BENCH_DOC            ?= $(CURDIR)/docs/performance.md
bench-compare: tools
	@uptime
	cd integration && $(GO) test -count=1 -timeout 240m -run '^TestCompare$$' -v . -compare \
	  -compare.stacks=$(BENCH_STACKS) -compare.runs=$(BENCH_RUNS) -compare.auditruns=$(BENCH_AUDIT_RUNS) \
	  -compare.delay=$(BENCH_DELAY) -compare.jobs=$(BENCH_JOBS) -compare.backends=$(BENCH_BACKENDS) \
	  -compare.backendstacks=$(BENCH_BACKEND_STACKS) -compare.doc='$(BENCH_DOC)'

## demo: restore the example project's settings files from the example
## file:// backend, in a scratch copy so the repo stays clean.
demo:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp -R examples/project "$$tmp/project" && \
	echo "# before: settings files as pulumi regenerated them after the loss" && \
	for f in "$$tmp"/project/Pulumi.*.yaml; do echo "## $$(basename $$f)"; cat "$$f"; done && \
	echo "# stacksync restore --all:" && \
	$(GO) run ./cmd/stacksync restore -C "$$tmp/project" --backend "file://$(CURDIR)/examples/backend" --all && \
	echo "# after:" && for f in "$$tmp"/project/Pulumi.*.yaml; do echo "## $$(basename $$f)"; cat "$$f"; done

## reliability: run the bad-input catalogue (integration/catalogue_test.go)
## alone and rewrite docs/reliability.md from it.
reliability: tools
	cd integration && $(GO) test -count=1 -run '^TestCatalogue$$' .

## fixtures: regenerate examples/ and test fixtures with the pinned real pulumi.
fixtures: tools
	cd integration && $(GO) test -count=1 -run TestGenerateFixtures -fixtures ./...

clean:
	rm -rf bin dist
