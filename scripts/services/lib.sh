# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Sourced by scripts/services.sh, never run directly.
# Everything a service needs lives under $LOCAL_DIR so a `rm -rf .local` resets the stack.

REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LOCAL_DIR="${EAIO_LOCAL_DIR:-.local}"
case "$LOCAL_DIR" in /*) ;; *) LOCAL_DIR="$REPO/$LOCAL_DIR" ;; esac
# shellcheck disable=SC2034 # read by the per-service files sourced after this one
SERVICES_DIR="$REPO/scripts/services"

# Progress goes to stderr so `eval "$(eaio services env)"` only ever sees export lines.
log() { printf '[services] %s\n' "$*" >&2; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }
elapsed() { # elapsed START_MS -> "12.3s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# --- apt: update at most once per `up`, and only when something is actually missing ----------
APT_UPDATED=0
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

apt_has_candidates() { # true when the current package lists know every named package
  local p out
  for p in "$@"; do
    # Captured first: `apt-cache | grep -q` would fail under pipefail when grep exits early.
    out=$(apt-cache policy "$p" 2>/dev/null || true)
    [[ $out == *"Candidate: "[0-9]* ]] || return 1
  done
}

apt_install() { # apt_install PKG... (installs only the missing ones)
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand (this script targets Debian 12)"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need root to install ${missing[*]}: rerun as root or 'sudo apt-get install ${missing[*]}'"
    sudo=(sudo)
  fi
  # Lists already present are tried first: an update costs 10-30 s and is only needed when the
  # lists are missing, lack a package, or are so old that the mirror no longer has the files.
  if ((APT_UPDATED == 0)) && ! apt_has_candidates "${missing[@]}"; then
    apt_update "${missing[*]}"
  fi
  log "apt-get install ${missing[*]} (with dependencies; output in $LOCAL_DIR/apt.log)"
  if ! apt_get_install "${missing[@]}"; then
    ((APT_UPDATED == 0)) || die "apt-get install ${missing[*]} failed: see $LOCAL_DIR/apt.log"
    apt_update "${missing[*]}"
    apt_get_install "${missing[@]}" || die "apt-get install ${missing[*]} failed: see $LOCAL_DIR/apt.log"
  fi
}

apt_update() {
  log "apt-get update (once, needed for: $1)"
  if ! "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$LOCAL_DIR/apt.log" 2>&1; then
    tail -n 20 "$LOCAL_DIR/apt.log" >&2
    die "apt-get update failed (log: $LOCAL_DIR/apt.log): check the Debian mirror in /etc/apt/sources.list(.d) and network access"
  fi
  APT_UPDATED=1
}

apt_get_install() {
  # policy-rc.d 101 stops the packages' postinst from starting system services: we run our own
  # processes under .local and must not collide with a Debian-managed instance on default ports.
  local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
  if [[ ! -e $policy ]] && ((EUID == 0)); then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  # Lock timeout: other tools (or a parallel `up`) may hold the dpkg lock for a while.
  # Output to a log: dpkg's hundreds of lines would bury our progress lines.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "$@" >>"$LOCAL_DIR/apt.log" 2>&1 || rc=$?
  ((created_policy)) && rm -f "$policy"
  ((rc == 0)) || tail -n 20 "$LOCAL_DIR/apt.log" >&2
  return $rc
}

# --- process bookkeeping: one pid file per service, never kill anything we did not start ---------
pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
read_pid() { if [[ -f $1 ]]; then tr -dc '0-9' <"$1"; fi; }

# owned_pid PIDFILE MARKER — prints the pid if it is alive AND its command line contains MARKER (a
# path under .local). After a reboot a stale pid file may name an unrelated process: never report
# that as our service, and never signal it.
owned_pid() {
  local pid
  pid=$(read_pid "$1")
  pid_alive "$pid" || return 1
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$2"* ]] || return 1
  echo "$pid"
}

stop_pid_file() { # stop_pid_file NAME PIDFILE MARKER [TIMEOUT_S]
  local name=$1 file=$2 marker=$3 timeout=${4:-30} pid
  if ! pid=$(owned_pid "$file" "$marker"); then
    rm -f "$file"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < timeout * 10; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    warn "$name: pid $pid still alive after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$file"
  log "$name: stopped"
}

# --- readiness ------------------------------------------------------------------------------
port_open() { # port_open PORT (127.0.0.1 only)
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_owner_hint() {
  local port=$1
  if command -v ss >/dev/null; then
    ss -Hltnp "sport = :$port" 2>/dev/null | sed 's/^/    /' >&2 || true
  fi
}

# wait_until NAME TIMEOUT_S PID LOGFILE CMD... — polls CMD; fails fast if PID dies, shows the log tail.
wait_until() {
  local name=$1 timeout=$2 pid=$3 logfile=$4
  shift 4
  local start last=0 s
  start=$(date +%s)
  while ! "$@" >/dev/null 2>&1; do
    s=$(($(date +%s) - start))
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      log "$name: process $pid exited during startup; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 2>/dev/null || true
      return 1
    fi
    if ((s >= timeout)); then
      log "$name: not ready after ${timeout}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 2>/dev/null || true
      return 1
    fi
    if ((s - last >= 5)); then
      log "$name: waiting for readiness (${s}s)"
      last=$s
    fi
    sleep 0.3
  done
}

# Refuse to start when something else already holds our port: better a clear error than a
# second instance fighting over it or a test talking to a stranger.
require_port_free() { # require_port_free NAME PORT
  if port_open "$2"; then
    log "$1: port 127.0.0.1:$2 is already in use by another process:"
    port_owner_hint "$2"
    die "$1: free port $2 (stop that process) and rerun 'eaio services up $1'"
  fi
}

# Start CMD detached, output to LOGFILE, pid to PIDFILE. setsid so Ctrl-C on the caller's
# terminal does not take the service down; nohup so closing the terminal does not either.
spawn_bg() { # spawn_bg PIDFILE LOGFILE CMD...
  local pidfile=$1 logfile=$2
  shift 2
  # 9>&- : fd 9 holds scripts/services.sh's flock; a service inheriting it would keep the lock
  # for its whole life and block every later `up`/`down`.
  nohup setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

http_ok() { # http_ok URL — 2xx within 3 s; curl when present, else Python (both on Debian images)
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 3 "$1"
  else
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$1"
  fi
}
