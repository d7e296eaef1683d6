#!/usr/bin/env bash
# dist.sh VERSION [OUTDIR] — cross-compiles stacksync for every released
# platform and writes OUTDIR/VERSION/ (OUTDIR defaults to dist), laid out
# exactly as the GitHub release assets of tag VERSION:
#
#   stacksync_<VERSION>_<os>_<arch>.tar.gz   linux, darwin × amd64, arm64
#   stacksync_<VERSION>_windows_<arch>.zip   windows × amd64, arm64
#   SHA256SUMS                               "<sha256>  <asset>" per archive
#
# Each archive holds one file, the binary (stacksync, or stacksync.exe),
# built static (CGO_ENABLED=0) with -trimpath and -ldflags "-s -w
# -X main.version=<VERSION>". .goreleaser.yaml makes the same names, so
# serving OUTDIR over HTTP stands in for
# https://github.com/<owner>/<repo>/releases/download/.
#
# Archives are reproducible: entries are owned by 0:0 and dated at the
# commit's time (SOURCE_DATE_EPOCH when set), and gzip stores no name or
# time, so two runs on one commit write the same SHA256SUMS.
set -euo pipefail

fail() { echo "dist.sh: $*" >&2; exit 1; }

version=${1:-}
out=${2:-dist}
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
  fail "VERSION '$version' is not a release tag vX.Y.Z (e.g. make dist VERSION=v0.1.0)"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
dest="$out/$version"
rm -rf "$dest"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

targets="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
for target in $targets; do
  os=${target%/*} arch=${target#*/}
  exe=stacksync
  [ "$os" = windows ] && exe=stacksync.exe
  dir="$work/$os-$arch"
  mkdir -p "$dir"
  GOOS=$os GOARCH=$arch CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$dir/$exe" ./cmd/stacksync
  touch -d "@$epoch" "$dir/$exe"
  name="stacksync_${version}_${os}_${arch}"
  if [ "$os" = windows ]; then
    (cd "$dir" && zip -q -X "$dest/$name.zip" "$exe")
  else
    tar -C "$dir" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
      -cf - "$exe" | gzip -n -9 > "$dest/$name.tar.gz"
  fi
  echo "dist.sh: $name ($(stat -c %s "$dir/$exe") bytes unpacked)" >&2
done

# The same format as goreleaser's checksum file and sha256sum -c.
(cd "$dest" && sha256sum -- stacksync_* > SHA256SUMS)
echo "dist.sh: wrote $dest" >&2
