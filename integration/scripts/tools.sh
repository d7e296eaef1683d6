#!/usr/bin/env bash
# tools.sh — installs the external programs the stacksync integration tests
# run, into ${STACKSYNC_CACHE:-$HOME/.cache/stacksync} (outside the repo):
#
#   <cache>/bin/versitygw                  versitygw (S3 gateway)
#   <cache>/bin/fake-gcs-server            GCS server for gs:// backends
#   <cache>/azurite/<version>/             Azurite (npm) for azblob:// backends
#   <cache>/bin/pulumi-language-yaml       runs `runtime: yaml` programs
#   <cache>/bin/act                        runs a GitHub Actions workflow locally
#   <cache>/pulumi/<version>/bin/pulumi    the pulumi CLI, per version
#
# and, for postgres:// backends, PostgreSQL (initdb, postgres, psql) from
# the system's packages (apt-get install postgresql) when initdb is neither
# on PATH nor in /usr/lib/postgresql/*/bin; likewise Node.js and npm for
# Azurite. Installing packages needs root, as in CI.
#
# Idempotent: anything already installed at the pinned version is skipped.
# Writes only progress to stderr; exits non-zero with a message on failure.
# Versions must match the constants in integration/harness/tools.go
# (harness.TestToolVersionsMatchToolsScript checks them).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
# Azurite 3.36 and later need Node 21 or newer.
AZURITE_VERSION=3.35.0
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

# apt_install PACKAGE...: installs system packages with apt-get, running
# apt-get update first only if the package index does not know them.
apt_install() {
  [ "$(id -u)" = 0 ] || fail "$* missing: install them (apt-get install $*) or run tools.sh as root"
  command -v apt-get >/dev/null 2>&1 || fail "$* missing and there is no apt-get: install them"
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get install $*"
  if ! apt-get install -y --no-install-recommends "$@" >&2; then
    log "apt-get update, then apt-get install $* again"
    apt-get update >&2 || fail "apt-get update"
    apt-get install -y --no-install-recommends "$@" >&2 || fail "apt-get install $*"
  fi
}

# pg_bindir prints the directory of PostgreSQL's initdb, as the harness
# looks for it (integration/harness/postgres.go): on PATH, else the newest
# /usr/lib/postgresql/<major>/bin, where Debian puts it.
pg_bindir() {
  local p
  if p=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$p")"
    return
  fi
  for p in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$p/initdb" ]; then
      echo "$p"
      return
    fi
  done
  return 1
}

go_install versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
go_install fake-gcs-server "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"

azurite_dir="$cache/azurite/$AZURITE_VERSION"
if [ -x "$azurite_dir/node_modules/.bin/azurite-blob" ] && [ "$(cat "$stamps/azurite" 2>/dev/null)" = "azurite@$AZURITE_VERSION" ]; then
  log "azurite: already installed (azurite@$AZURITE_VERSION)"
else
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  log "azurite: npm install azurite@$AZURITE_VERSION (node $(node --version))"
  start=$SECONDS
  rm -rf "$azurite_dir.tmp"
  mkdir -p "$azurite_dir.tmp"
  npm install --prefix "$azurite_dir.tmp" --save-exact --no-audit --no-fund --omit=dev --loglevel=warn \
    "azurite@$AZURITE_VERSION" >&2 || fail "npm install azurite@$AZURITE_VERSION"
  [ -x "$azurite_dir.tmp/node_modules/.bin/azurite-blob" ] || fail "npm install azurite@$AZURITE_VERSION did not produce azurite-blob"
  rm -rf "$azurite_dir"
  mv "$azurite_dir.tmp" "$azurite_dir"
  echo "azurite@$AZURITE_VERSION" > "$stamps/azurite"
  log "azurite: installed in $((SECONDS - start))s"
fi

if ! pg_bindir >/dev/null; then
  apt_install postgresql
fi
pg=$(pg_bindir) || fail "PostgreSQL installed, but no initdb on PATH or in /usr/lib/postgresql/*/bin"
for tool in initdb postgres psql; do
  [ -x "$pg/$tool" ] || fail "PostgreSQL's $tool is not in $pg"
done
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  fail "PostgreSQL refuses to run as root, and there is no user postgres for the tests to run it as"
fi
log "postgresql: $("$pg/postgres" --version) in $pg"

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
