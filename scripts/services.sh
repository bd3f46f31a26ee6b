#!/usr/bin/env bash
# Local stack for development and tests: PostgreSQL+PostGIS, Kafka (KRaft), Milvus Lite, Prometheus.
# Installs what is missing, runs everything as plain background processes on 127.0.0.1 only, and
# keeps data, logs and pid files under .local/ (or $EAIO_LOCAL_DIR).
#
#   scripts/services.sh up|down|status|env [postgres|kafka|milvus|prometheus ...]
#
# Progress and errors go to stderr; `env` writes only export lines to stdout.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/services/lib.sh
source "$REPO/scripts/services/lib.sh"
ALL_SERVICES=(postgres kafka milvus prometheus)
for s in "${ALL_SERVICES[@]}"; do
  # shellcheck source=/dev/null
  source "$SERVICES_DIR/$s.sh"
done

usage() {
  cat >&2 <<USAGE
Usage: $(basename "$0") <up|down|status|env> [$(
    IFS='|'
    echo "${ALL_SERVICES[*]}"
  ) ...]
  up       install what is missing, start, wait until ready, print where each listens
  down     stop what 'up' started
  status   report each service (exit 1 if any is down)
  env      print export lines: eval "\$(eaio services env)"
Data and logs: $LOCAL_DIR
USAGE
}

cmd=${1:-}
[[ -n $cmd ]] || {
  usage
  exit 2
}
shift
services=("$@")
((${#services[@]})) || services=("${ALL_SERVICES[@]}")
for s in "${services[@]}"; do
  [[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || {
    usage
    die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  }
done

mkdir -p "$LOCAL_DIR"
# One `up`/`down` at a time: two concurrent runs would race on installs, pid files and ports.
lock_state() {
  exec 9>"$LOCAL_DIR/.services.lock"
  if ! flock -n 9; then
    log "another 'eaio services' run holds $LOCAL_DIR/.services.lock; waiting for it"
    flock -w 900 9 || die "gave up waiting for $LOCAL_DIR/.services.lock; is a stuck 'eaio services' process running?"
  fi
}

case $cmd in
up)
  lock_state
  total=$(now_ms)
  # 1. Every missing Debian package in one apt run (so at most one `apt-get update`).
  needs=()
  for p in $(for s in "${services[@]}"; do "${s}_apt_needs"; done | sort -u); do
    pkg_installed "$p" || needs+=("$p")
  done
  if ((${#needs[@]})); then
    t0=$(now_ms)
    apt_install "${needs[@]}"
    log "packages ready in $(elapsed "$t0")"
  fi
  # 2. Downloads (Kafka jars, Milvus venv) in parallel: together they are most of a first run.
  prefetch=()
  for s in "${services[@]}"; do
    if declare -F "${s}_prefetch" >/dev/null; then
      "${s}_prefetch" &
      prefetch+=("$!:$s")
    fi
  done
  for entry in "${prefetch[@]}"; do
    wait "${entry%%:*}" || die "${entry#*:}: installation failed (see the messages above)"
  done
  # 3. Start and wait, one at a time: readiness checks are cheap and the output stays readable.
  for s in "${services[@]}"; do
    t0=$(now_ms)
    "${s}_up"
    log "$s: ready in $(elapsed "$t0")"
  done
  log "all requested services ready in $(elapsed "$total")"
  for s in "${services[@]}"; do
    printf '%-11s %s\n' "$s" "$("${s}_where")"
  done
  ;;
down)
  lock_state
  # Reverse order: consumers of a service go down before what they depend on.
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    "${services[i]}_down"
  done
  ;;
status)
  rc=0
  for s in "${services[@]}"; do "${s}_status" || rc=1; done
  ((rc == 0)) || log "some services are down: run 'eaio services up' (logs under $LOCAL_DIR/<service>/)"
  exit $rc
  ;;
env)
  for s in "${services[@]}"; do "${s}_env"; done
  ;;
-h | --help | help)
  usage
  ;;
*)
  usage
  die "unknown command '$cmd'"
  ;;
esac
