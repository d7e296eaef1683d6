#!/usr/bin/env bash
# action.sh install|restore — the two steps of the composite action
# (action.yml). The inputs arrive in STACKSYNC_* environment variables,
# never spliced into a script, and are validated here; every value that
# reaches a workflow command goes through workflow_command, which escapes
# it as GitHub documents. Runs on the Linux, macOS (bash 3.2) and Windows
# (Git Bash) runners.
#
# install: downloads <base-url>/<version>/SHA256SUMS and the runner's
# archive with bounded curl (see the download_* settings), checks the
# archive against SHA256SUMS, unpacks the binary into
# $RUNNER_TEMP/stacksync-<version>/bin, adds that to GITHUB_PATH and sets
# the step output path.
#
# restore: runs `stacksync restore -o json` with the inputs as flags, with
# workflow commands stopped while it runs, and sets the step output result
# to what it printed: the JSON array, or nothing if it failed before
# reading any stack.
set -euo pipefail

# The bounds of one download (curl). An attempt ends when it has no
# connection after download_connect_timeout seconds, moves less than
# download_speed_limit bytes a second for download_speed_time seconds (a
# server that accepts and never answers), or lasts download_max_time
# seconds. curl makes download_retries more attempts after any failure,
# waiting 1 s, then 2 s. So a mirror that never answers fails the step after
# 3 × 15 s + 3 s = 48 s, and no download takes more than 3 × 120 s + 3 s.
download_connect_timeout=10
download_speed_limit=1024
download_speed_time=15
download_max_time=120
download_retries=2

# step names the running step in error titles: "install" or "restore".
step=action

# workflow_command NAME MESSAGE [KEY VALUE]... prints one workflow command,
# ::NAME KEY=VALUE,...::MESSAGE, with MESSAGE and each VALUE escaped as
# GitHub documents (% CR LF; in a VALUE also : and ,), so that no input,
# path or message can end the command early or start another one. Every
# workflow command this script prints goes through here.
workflow_command() {
	local name=$1 msg=$2 props="" value
	shift 2
	while [ $# -ge 2 ]; do
		value=$(escape_data "$2")
		value=${value//:/%3A}
		value=${value//,/%2C}
		props="${props:+$props,}$1=$value"
		shift 2
	done
	printf '::%s%s::%s\n' "$name" "${props:+ $props}" "$(escape_data "$msg")"
}

# escape_data prints $1 with %, CR and LF escaped; only workflow_command
# calls it.
escape_data() {
	local s=$1 cr=$'\r' lf=$'\n'
	s=${s//"%"/%25}
	s=${s//$cr/%0D}
	s=${s//$lf/%0A}
	printf '%s' "$s"
}

# fail MESSAGE [CODE] prints MESSAGE as one ::error line and exits CODE
# (default 1).
fail() {
	workflow_command error "$1" title "stacksync $step"
	exit "${2:-1}"
}

# redact prints URL $1 without its userinfo (https://user:token@host/ ->
# https://host/), for messages.
redact() {
	if [[ $1 =~ ^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@(.*)$ ]]; then
		printf '%s%s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
	else
		printf '%s' "$1"
	fi
}

# random_token prints 16 random hex digits.
random_token() {
	od -An -N8 -tx1 /dev/urandom | tr -d ' \n'
}

# download URL FILE fetches URL into FILE within the download_* bounds, or
# fails the step with one line that names URL and curl's reason.
download() {
	local url=$1 file=$2 code=0 reason
	curl -fsSL --max-redirs 10 \
		--connect-timeout "$download_connect_timeout" \
		--speed-limit "$download_speed_limit" --speed-time "$download_speed_time" \
		--max-time "$download_max_time" \
		--retry "$download_retries" --retry-all-errors \
		-o "$file" "$url" 2>"$file.err" || code=$?
	if [ "$code" != 0 ]; then
		reason=$(tail -n 1 "$file.err")
		reason=${reason#curl: }
		fail "downloading $(redact "$url") failed after $((download_retries + 1)) attempts: ${reason:-curl exit $code}"
	fi
	rm -f "$file.err"
}

install() {
	step=install
	local version=${STACKSYNC_VERSION-} base=${STACKSYNC_BASE_URL-}
	local os arch ext exe asset url tmp dir want got
	[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
		fail "input version '$version' is not a release tag such as v1.2.3"
	[[ $base =~ ^(https?|file)://[^[:space:][:cntrl:]]+$ ]] ||
		fail "input base-url '$(redact "$base")' is not an http://, https:// or file:// URL"
	case "${RUNNER_OS-}" in
	Linux) os=linux ;; macOS) os=darwin ;; Windows) os=windows ;;
	*) fail "no stacksync release for runner OS '${RUNNER_OS-}'" ;;
	esac
	case "${RUNNER_ARCH-}" in
	X64) arch=amd64 ;; ARM64) arch=arm64 ;;
	*) fail "no stacksync release for runner architecture '${RUNNER_ARCH-}'" ;;
	esac
	ext=tar.gz exe=stacksync
	if [ "$os" = windows ]; then ext=zip exe=stacksync.exe; fi
	asset="stacksync_${version}_${os}_${arch}.${ext}"
	url="${base%/}/$version"
	tmp=${RUNNER_TEMP:-$(mktemp -d)}
	# Windows: RUNNER_TEMP is D:\a\_temp; bash wants /d/a/_temp.
	if command -v cygpath >/dev/null; then tmp=$(cygpath -u "$tmp"); fi
	dir="$tmp/stacksync-$version"
	rm -rf "$dir" && mkdir -p "$dir/bin"
	cd "$dir"
	download "$url/SHA256SUMS" SHA256SUMS
	download "$url/$asset" "$asset"
	want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' SHA256SUMS)
	[ -n "$want" ] || fail "SHA256SUMS of $version lists no $asset"
	if command -v sha256sum >/dev/null; then
		got=$(sha256sum "$asset" | awk '{print $1}')
	else
		got=$(shasum -a 256 "$asset" | awk '{print $1}')
	fi
	[ "$got" = "$want" ] ||
		fail "checksum mismatch for $asset: SHA256SUMS says $want, the download is $got; not installing it"
	if [ "$ext" = zip ]; then unzip -q -o "$asset" "$exe" -d bin; else tar -xzf "$asset" -C bin "$exe"; fi
	if command -v cygpath >/dev/null; then cygpath -w "$dir/bin" >>"$GITHUB_PATH"; else echo "$dir/bin" >>"$GITHUB_PATH"; fi
	echo "path=$dir/bin/$exe" >>"$GITHUB_OUTPUT"
	echo "stacksync $version ($os/$arch, sha256 $got) installed in $dir/bin"
}

restore() {
	step=restore
	local bin=${STACKSYNC_BIN-} backend=${STACKSYNC_BACKEND-} a out code token
	local -a flags extra stacks
	[ -n "$bin" ] || fail "no stacksync binary: the install step did not set its path"
	flags=(-o json -C "${STACKSYNC_DIR:-.}")
	case "$backend" in
	*[[:cntrl:]]*) fail "input backend-url '$(redact "$backend")' holds a control character" 2 ;;
	"") ;;
	*) flags+=(--backend "$backend") ;;
	esac
	case "${STACKSYNC_MISSING_OK-}" in
	true) flags+=(--missing-ok) ;;
	false | "") ;;
	*) fail "input missing-ok is '${STACKSYNC_MISSING_OK-}'; want true or false" 2 ;;
	esac
	read -r -d "" -a extra <<<"${STACKSYNC_ARGS-}" || true # any whitespace, newlines too
	read -r -d "" -a stacks <<<"${STACKSYNC_STACKS-}" || true
	# The result output is restore -o json's array, so args may not pick
	# another format, or ask for help instead of a restore. Refused rather
	# than overridden: a format asked for and silently not given is a
	# mistake the user should hear about.
	for a in ${extra[@]+"${extra[@]}"}; do
		case "$a" in
		--) break ;;
		-o* | --output | --output=*)
			fail "input args holds '$a': the action always runs restore -o json, so that the result output is its JSON array; remove it" 2 ;;
		-h* | --help)
			fail "input args holds '$a': the action runs a restore, not help; remove it" 2 ;;
		esac
	done
	out=$(mktemp)
	code=0
	# Nothing restore prints (a settings file's path, a message quoting the
	# backend) is read as a workflow command: commands stop until the
	# random token.
	token="stacksync-$(random_token)"
	workflow_command stop-commands "$token"
	# ${a[@]+"${a[@]}"}: an empty array under set -u in bash 3.2 (macOS).
	"$bin" restore "${flags[@]}" ${extra[@]+"${extra[@]}"} -- ${stacks[@]+"${stacks[@]}"} >"$out" || code=$?
	cat "$out"
	workflow_command "$token" ""
	token="stacksync_$(random_token)"
	{
		echo "result<<$token"
		printf '%s\n' "$(cat "$out")"
		echo "$token"
	} >>"$GITHUB_OUTPUT"
	rm -f "$out"
	exit "$code"
}

# Sourced (by the tests of workflow_command), define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1-}" in
	install | restore) "$1" ;;
	*) fail "usage: action.sh install|restore" 2 ;;
	esac
fi
