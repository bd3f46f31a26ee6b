# shellcheck shell=bash
# Milvus Lite 3.x as a gRPC server in a project venv. Sourced by scripts/services.sh.

MILVUS_PORT=19530
MILVUS_HOME="$LOCAL_DIR/milvus"
MILVUS_VENV="$MILVUS_HOME/venv"
MILVUS_DATA="$MILVUS_HOME/data"
MILVUS_LOG="$MILVUS_HOME/milvus.log"
MILVUS_PID="$MILVUS_HOME/milvus.pid"
MILVUS_REQS="$SERVICES_DIR/milvus/requirements.txt"

milvus_where() { echo "127.0.0.1:$MILVUS_PORT"; }
milvus_env() { echo "export MILVUS_ADDRESS=127.0.0.1:$MILVUS_PORT"; }

milvus_apt_needs() {
  [[ -x $MILVUS_VENV/bin/milvus-lite ]] && return 0
  local py=${EAIO_PYTHON:-python3}
  if ! command -v "$py" >/dev/null; then
    echo python3 python3-venv
  elif ! "$py" -c 'import ensurepip' 2>/dev/null; then
    # Debian moves ensurepip (which venv needs) into python3-venv.
    echo python3-venv
  fi
  return 0
}

milvus_prefetch() { milvus_install; }

milvus_python() { # the interpreter the venv is made from; EAIO_PYTHON overrides
  local py=${EAIO_PYTHON:-python3}
  command -v "$py" >/dev/null || apt_install python3
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "milvus: Milvus Lite needs Python >= 3.10; set EAIO_PYTHON to such an interpreter"
  echo "$py"
}

milvus_install() {
  local want have
  want=$(sha256sum "$MILVUS_REQS" | cut -c1-64)
  have=$(cat "$MILVUS_VENV/.requirements.sha256" 2>/dev/null || true)
  if [[ $want == "$have" && -x $MILVUS_VENV/bin/milvus-lite ]]; then
    return 0
  fi
  local t0 py
  t0=$(now_ms)
  py=$(milvus_python)
  mkdir -p "$MILVUS_HOME"
  if [[ ! -x $MILVUS_VENV/bin/python ]]; then
    log "milvus: creating venv $MILVUS_VENV"
    if ! "$py" -m venv "$MILVUS_VENV" >/dev/null 2>&1; then
      # Debian's python3 ships without ensurepip until python3-venv is installed.
      rm -rf "$MILVUS_VENV"
      apt_install python3-venv
      "$py" -m venv "$MILVUS_VENV" || die "milvus: '$py -m venv' failed; install python3-venv or set EAIO_PYTHON"
    fi
  fi
  log "milvus: pip install $(grep -v '^#' "$MILVUS_REQS" | xargs) (first run only, ~0.5 GB)"
  if ! "$MILVUS_VENV/bin/pip" install -q --disable-pip-version-check -r "$MILVUS_REQS" >"$MILVUS_HOME/pip.log" 2>&1; then
    tail -n 30 "$MILVUS_HOME/pip.log" >&2
    die "milvus: pip install failed (log: $MILVUS_HOME/pip.log); check PyPI access (pip config list) and rerun"
  fi
  echo "$want" >"$MILVUS_VENV/.requirements.sha256"
  log "milvus: installed into $MILVUS_VENV ($(elapsed "$t0"))"
}

# A real gRPC round trip, not just an open port: the server binds before its storage is loaded.
milvus_probe() {
  port_open "$MILVUS_PORT" || return 1
  "$MILVUS_VENV/bin/python" - "$MILVUS_PORT" <<'PY' >/dev/null 2>&1
import sys
from pymilvus import MilvusClient
c = MilvusClient(uri=f"http://127.0.0.1:{sys.argv[1]}", timeout=3)
c.list_collections()
c.close()
PY
}

milvus_running_pid() { owned_pid "$MILVUS_PID" "$MILVUS_DATA"; }

milvus_up() {
  local pid
  if pid=$(milvus_running_pid); then
    if port_open "$MILVUS_PORT"; then
      log "milvus: already running (pid $pid)"
      return 0
    fi
    wait_until milvus 60 "$pid" "$MILVUS_LOG" milvus_probe ||
      die "milvus: pid $pid does not answer; 'eaio services down milvus' then 'up milvus', log: $MILVUS_LOG"
    return 0
  fi
  require_port_free milvus "$MILVUS_PORT"
  milvus_install
  mkdir -p "$MILVUS_DATA"
  log "milvus: starting Milvus Lite server"
  # --host defaults to 0.0.0.0 in Milvus Lite: always pass loopback explicitly.
  spawn_bg "$MILVUS_PID" "$MILVUS_LOG" "$MILVUS_VENV/bin/milvus-lite" server \
    --data-dir "$MILVUS_DATA" --host 127.0.0.1 --port "$MILVUS_PORT"
  wait_until milvus 90 "$(read_pid "$MILVUS_PID")" "$MILVUS_LOG" milvus_probe ||
    die "milvus: server did not become ready; read $MILVUS_LOG"
}

milvus_down() { stop_pid_file milvus "$MILVUS_PID" "$MILVUS_DATA" 30; }

milvus_status() {
  local pid
  if pid=$(milvus_running_pid) && milvus_probe; then
    echo "milvus      up    127.0.0.1:$MILVUS_PORT (pid $pid)"
  elif [[ -n ${pid:-} ]]; then
    echo "milvus      DOWN  pid $pid alive but not answering on 127.0.0.1:$MILVUS_PORT"
    return 1
  else
    echo "milvus      DOWN"
    return 1
  fi
}
