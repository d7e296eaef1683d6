#!/usr/bin/env bash
# build-pulumi.sh VERSION — builds the real pulumi CLI at VERSION from the Go
# module proxy and prints the path of the binary (progress goes to stderr).
#
# `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` is refused because
# pkg/v3's go.mod has replace directives. So we make a throwaway module that
# requires pkg/v3 and sdk/v3 at VERSION, mirrors the non-local replace
# directives of that version's pkg/go.mod (e.g. atotto/clipboard =>
# tgummerer/clipboard), copies the package-main files of pkg/v3/cmd/pulumi
# into it from the module cache, and builds that.
#
# Binaries are cached by version under ${STACKSYNC_CACHE:-~/.cache/stacksync}
# as pulumi/<VERSION>/bin/pulumi. Concurrent runs for the same version are
# serialised with flock(1) when it is available.
set -euo pipefail

version=${1:?usage: build-pulumi.sh VERSION (e.g. v3.274.1)}
cache=${STACKSYNC_CACHE:-$HOME/.cache/stacksync}
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) # absolute: we cd below
out="$cache/pulumi/$version/bin"
if [ -x "$out/pulumi" ]; then
  echo "$out/pulumi"
  exit 0
fi

mkdir -p "$cache/pulumi/$version"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/pulumi/$version/.lock"
  flock 9
  if [ -x "$out/pulumi" ]; then # built by another run while we waited
    echo "$out/pulumi"
    exit 0
  fi
fi

fail() { echo "build-pulumi $version: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || fail "go is not on PATH"

work="$cache/pulumi/$version/src"
rm -rf "$work"
mkdir -p "$work" "$out"
cd "$work"

cat > go.mod <<MOD
module stacksync.invalid/pulumibuild

go 1.24
MOD

export GOFLAGS=-mod=mod
export GOWORK=off
go mod download -json "github.com/pulumi/pulumi/pkg/v3@$version" > pkg.json ||
  fail "cannot download github.com/pulumi/pulumi/pkg/v3@$version: $(cat pkg.json)"
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' pkg.json)
[ -d "$dir/cmd/pulumi" ] || fail "no cmd/pulumi in '$dir'"

# Mirror pkg/go.mod's replace directives that point at other modules; local
# ones (=> ../sdk) are satisfied by requiring sdk/v3 at the same version.
go mod edit -print "$dir/go.mod" | awk '
  /^replace \($/ { inblock = 1; next }
  inblock && /^\)$/ { inblock = 0; next }
  inblock { print; next }
  /^replace / { sub(/^replace /, ""); print }
' | while read -r line; do
  old=${line%% => *}
  new=${line#* => }
  set -- $new
  [ $# -eq 2 ] || continue # local directory replacement
  newspec="$1@$2"
  set -- $old
  oldspec=$1
  [ $# -eq 2 ] && oldspec="$1@$2"
  echo "build-pulumi $version: replace $oldspec => $newspec" >&2
  go mod edit -replace="$oldspec=$newspec"
done

for f in "$dir"/cmd/pulumi/*.go; do
  case "$f" in *_test.go) continue ;; esac
  cp "$f" .
done
chmod u+w ./*.go

go get "github.com/pulumi/pulumi/pkg/v3@$version" "github.com/pulumi/pulumi/sdk/v3@$version" >&2
go mod tidy >&2
go build -o "$out/pulumi.tmp" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" . >&2 ||
  fail "go build failed (sources in $work)"
mv -f "$out/pulumi.tmp" "$out/pulumi"
echo "$out/pulumi"
