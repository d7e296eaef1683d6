#!/usr/bin/env bash
# tools.sh — installs the external programs the stacksync integration tests
# run, into ${STACKSYNC_CACHE:-$HOME/.cache/stacksync} (outside the repo):
#
#   <cache>/bin/versitygw                  versitygw (S3 gateway)
#   <cache>/bin/pulumi-language-yaml       runs `runtime: yaml` programs
#   <cache>/bin/act                        runs a GitHub Actions workflow locally
#   <cache>/pulumi/<version>/bin/pulumi    the pulumi CLI, per version
#
# Idempotent: anything already installed at the pinned version is skipped.
# Writes only progress to stderr; exits non-zero with a message on failure.
# Versions must match the constants in integration/harness/tools.go.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
LANGUAGE_YAML_VERSION=v1.25.0
# Runs the action's end-to-end workflow (integration/action_test.go).
ACT_VERSION=v0.2.89
# The release the spec describes, and an older one that still writes
# indented (pre-PR #22245) checkpoints and uses AWS SDK v1 for awskms.
PULUMI_VERSIONS="v3.274.1 v3.224.0"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${STACKSYNC_CACHE:-$HOME/.cache/stacksync}
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) # absolute
bin="$cache/bin"
stamps="$cache/stamps"

log() { echo "tools.sh: $*" >&2; }
fail() { echo "tools.sh: FAILED: $*" >&2; exit 1; }
trap 'fail "command failed (line $LINENO); see output above"' ERR

command -v go >/dev/null 2>&1 || fail "go is not on PATH"
mkdir -p "$bin" "$stamps"
export GOWORK=off GOFLAGS=-mod=mod

# go_install NAME MODULE/PATH@VERSION: installs into <cache>/bin unless the
# stamp for exactly that version is there and the binary is executable.
go_install() {
  local name=$1 pkg=$2 stamp="$stamps/$1"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
    log "$name: already installed ($pkg)"
    return
  fi
  log "$name: go install $pkg"
  local start=$SECONDS
  GOBIN="$bin" go install "$pkg" >&2 || fail "go install $pkg"
  [ -x "$bin/$name" ] || fail "go install $pkg did not produce $bin/$name"
  echo "$pkg" > "$stamp"
  log "$name: installed in $((SECONDS - start))s"
}

go_install versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
go_install pulumi-language-yaml "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$LANGUAGE_YAML_VERSION"
go_install act "github.com/nektos/act@$ACT_VERSION"

for v in $PULUMI_VERSIONS; do
  if [ -x "$cache/pulumi/$v/bin/pulumi" ]; then
    log "pulumi $v: already built"
    continue
  fi
  log "pulumi $v: building from source (takes several minutes)"
  start=$SECONDS
  STACKSYNC_CACHE="$cache" "$here/build-pulumi.sh" "$v" >&2 || fail "building pulumi $v"
  log "pulumi $v: built in $((SECONDS - start))s"
done

log "all tools installed in $cache"
