#!/usr/bin/env bash
# check-tracked.sh: fail when a file tracked by git (in the index) is larger
# than 1 MiB or is an executable binary, so build outputs and large blobs
# never enter the tree. Called by `make lint`.
#
# An executable binary is a blob that starts with the magic number of an ELF,
# Mach-O (thin or universal) or PE file, or any blob with the executable bit
# that holds a NUL byte. Scripts are text, so they pass; compressed fixtures
# hold NUL bytes but are not executable, so they pass too.
set -euo pipefail

max_bytes=$((1 << 20))
cd "$(git rev-parse --show-toplevel)"

# hex_at BLOB OFFSET COUNT prints COUNT bytes of BLOB from OFFSET as hex
# digits. The readers before head are cut off by SIGPIPE once it has
# enough, hence the || true.
hex_at() {
	{ git cat-file blob "$1" | tail -c +$(($2 + 1)) | head -c "$3" || true; } | od -An -v -tx1 | tr -d ' \n'
}

# binary_kind BLOB SIZE prints what kind of executable BLOB is, or nothing.
binary_kind() {
	local magic
	magic=$(hex_at "$1" 0 4)
	case $magic in
	7f454c46) echo "an ELF executable" ;;
	feedface | feedfacf | cefaedfe | cffaedfe) echo "a Mach-O executable" ;;
	cafebabe | bebafeca) echo "a Mach-O universal binary (or Java class file)" ;;
	4d5a*)
		# A PE file starts with "MZ" and holds the little-endian offset of
		# "PE\0\0" at 0x3c.
		local off pe
		off=$(hex_at "$1" 60 4)
		[ ${#off} -eq 8 ] || return 0
		off=$((16#${off:6:2}${off:4:2}${off:2:2}${off:0:2}))
		[ "$off" -lt "$2" ] || return 0
		pe=$(hex_at "$1" "$off" 4)
		[ "$pe" = 50450000 ] && echo "a PE executable"
		;;
	esac
	return 0
}

fail=0
while IFS= read -r -d '' entry; do
	meta=${entry%%$'\t'*}
	path=${entry#*$'\t'}
	read -r mode blob _ <<<"$meta"
	case $mode in 100644 | 100755) ;; *) continue ;; esac # skip links and submodules
	size=$(git cat-file -s "$blob")
	if [ "$size" -gt "$max_bytes" ]; then
		echo "check-tracked: $path is $size bytes, over the 1 MiB limit for a tracked file"
		fail=1
	fi
	kind=$(binary_kind "$blob" "$size")
	if [ -z "$kind" ] && [ "$mode" = 100755 ]; then
		nonnul=$(git cat-file blob "$blob" | LC_ALL=C tr -d '\000' | wc -c)
		[ "$nonnul" -lt "$size" ] && kind="an executable file holding NUL bytes"
	fi
	if [ -n "$kind" ]; then
		echo "check-tracked: $path is $kind; build outputs stay out of the tree (git rm --cached '$path')"
		fail=1
	fi
done < <(git ls-files -s -z)
exit "$fail"
