#!/usr/bin/env bash
# The external programs the tests drive, prepared once and cached: helm,
# promtool and local-kms built with `go install`, weed with `go build` (pinned
# versions) into
# $LHCMS_TOOLS_DIR (default ~/.cache/lhcms-tools); nginx and shellcheck from
# Debian packages (apt-get, as root) when missing.
#
# Prints one NAME=value line per tool on stdout (HELM_BIN, PROMTOOL_BIN,
# LOCAL_KMS_BIN, WEED_BIN, SHELLCHECK_BIN, NGINX_BIN); progress and problems go to
# stderr. Used by `npm test` (scripts/test.mjs) and .ci/run.
#
#   --strict   exit 1 when a tool cannot be prepared (.ci/run). Without it a
#              tool that cannot be prepared is left out of the output, and the
#              tests that need it fail with a message saying what to install.
#
# When everything is cached this only checks that files exist (a few ms).
set -uo pipefail
strict=0
[ "${1:-}" = --strict ] && strict=1
TOOLS=${LHCMS_TOOLS_DIR:-$HOME/.cache/lhcms-tools}
HELM_VERSION=v3.22.0
PROMTOOL_VERSION=v0.316.0
LOCAL_KMS_VERSION=v0.0.0-20260228092603-2a5e92d09ab6
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
problems=0

note() { printf '[test-tools] %s\n' "$*" >&2; }
missing() { # tool, what to do
  note "$1 is not available: $2"
  problems=$((problems + 1))
}

# A variable already set (HELM_BIN=...) wins: it is passed through unchecked
# here; the tests say so when it points nowhere.
given() { [ -n "${!1:-}" ] && printf '%s=%s\n' "$1" "${!1}"; }

go_tool() { # VAR name version module
  given "$1" && return
  local dir="$TOOLS/$2-$3"
  if [ ! -x "$dir/$2" ]; then
    local go
    go=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }) || true
    if [ -z "$go" ]; then
      missing "$2" "install Go (https://go.dev/dl/; /usr/local/go/bin is looked in too) and run the tests again: $2 $3 is built with go install, or set $1"
      return
    fi
    mkdir -p "$TOOLS"
    # One build per tool at a time: a second run waits for the first, then finds the binary.
    exec 9>"$TOOLS/.build-$2.lock"
    command -v flock >/dev/null && flock 9
    if [ -x "$dir/$2" ]; then
      exec 9>&-
      printf '%s=%s\n' "$1" "$dir/$2"
      return
    fi
    note "building $2 $3 with go install (once; cached in $dir)"
    # Built aside and renamed into place: a concurrent run never sees half a binary.
    local tmp
    tmp=$(mktemp -d "$TOOLS/.build-$2-XXXXXX")
    # shellcheck disable=SC2064 # (expanded now: this build's folder)
    trap "rm -rf '$tmp'" EXIT # an interrupted build leaves nothing behind
    if ! GOBIN="$tmp" GOFLAGS=-buildvcs=false "$go" install "$4@$3" >&2; then
      rm -rf "$tmp"
      trap - EXIT
      exec 9>&-
      missing "$2" "go install $4@$3 failed (see above; it needs the Go module proxy), or set $1"
      return
    fi
    mkdir -p "$dir"
    mv -f "$tmp/$2" "$dir/$2"
    rm -rf "$tmp"
    trap - EXIT
    exec 9>&-
  fi
  printf '%s=%s\n' "$1" "$dir/$2"
}

go_tool HELM_BIN helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
go_tool PROMTOOL_BIN promtool "$PROMTOOL_VERSION" github.com/prometheus/prometheus/cmd/promtool
# local-kms: a KMS-compatible server for the aws-kms key provider test.
go_tool LOCAL_KMS_BIN local-kms "$LOCAL_KMS_VERSION" github.com/nsmithuk/local-kms

# weed (SeaweedFS): the S3-compatible server of the attachment store tests. Its go.mod has
# replace directives, which `go install module@version` refuses: built from the module's
# source with `go build` (the first time takes long: tens of minutes on two cores).
weed_tool() {
  given WEED_BIN && return
  local dir="$TOOLS/weed-$WEED_VERSION"
  if [ ! -x "$dir/weed" ]; then
    local go src tmp
    go=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }) || true
    if [ -z "$go" ]; then
      missing weed "install Go and run the tests again: weed $WEED_VERSION is built from its Go module, or set WEED_BIN"
      return
    fi
    mkdir -p "$TOOLS"
    exec 9>"$TOOLS/.build-weed.lock"
    command -v flock >/dev/null && flock 9
    if [ ! -x "$dir/weed" ]; then
      note "building weed $WEED_VERSION from its Go module (once; cached in $dir)"
      src=$("$go" mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      tmp=$(mktemp -d "$TOOLS/.build-weed-XXXXXX")
      # shellcheck disable=SC2064 # (expanded now: this build's folder)
      trap "rm -rf '$tmp'" EXIT
      if [ -z "$src" ] || ! cp -r "$src/." "$tmp/src" || ! chmod -R u+w "$tmp/src" ||
        ! (cd "$tmp/src" && GOFLAGS=-buildvcs=false "$go" build -o "$tmp/weed" ./weed >&2); then
        rm -rf "$tmp"
        trap - EXIT
        exec 9>&-
        missing weed "building weed $WEED_VERSION failed (see above; it needs the Go module proxy), or set WEED_BIN"
        return
      fi
      mkdir -p "$dir"
      mv -f "$tmp/weed" "$dir/weed"
      rm -rf "$tmp"
      trap - EXIT
    fi
    exec 9>&-
  fi
  printf 'WEED_BIN=%s\n' "$dir/weed"
}
weed_tool

find_nginx() {
  local p
  for p in /usr/sbin/nginx /usr/bin/nginx /usr/local/sbin/nginx; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  command -v nginx || true
}
apt_packages=()
[ -n "${SHELLCHECK_BIN:-}" ] || command -v shellcheck >/dev/null || apt_packages+=(shellcheck)
[ -n "${NGINX_BIN:-}" ] || [ -n "$(find_nginx)" ] || apt_packages+=(nginx-light)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    note "installing ${apt_packages[*]} (Debian packages, apt-get)"
    if apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${apt_packages[@]}" >/dev/null; then
      # The nginx package starts a system nginx; the tests only run `nginx -t`.
      if [[ " ${apt_packages[*]} " == *" nginx-light "* ]]; then
        service nginx stop >/dev/null 2>&1 || true
      fi
    else
      note "apt-get install ${apt_packages[*]} failed"
    fi
  fi
fi
if ! given SHELLCHECK_BIN; then
  if command -v shellcheck >/dev/null; then
    printf 'SHELLCHECK_BIN=%s\n' "$(command -v shellcheck)"
  else
    missing shellcheck "install it (Debian/Ubuntu: apt-get install shellcheck; npm test does this when run as root), or set SHELLCHECK_BIN"
  fi
fi
if ! given NGINX_BIN; then
  nginx=$(find_nginx)
  if [ -n "$nginx" ]; then
    printf 'NGINX_BIN=%s\n' "$nginx"
  else
    missing nginx "install it (Debian/Ubuntu: apt-get install nginx-light; npm test does this when run as root), or set NGINX_BIN"
  fi
fi

if [ "$problems" -gt 0 ]; then
  note "$problems tool(s) missing: the tests that need them will fail"
  [ "$strict" = 1 ] && exit 1
fi
exit 0
