# shellcheck shell=bash
# Prometheus (Debian package) run by us, not by the Debian service. Sourced by scripts/services.sh.

PROM_PORT=19090
PROM_HOME="$LOCAL_DIR/prometheus"
PROM_DATA="$PROM_HOME/data"
PROM_CONF="$PROM_HOME/prometheus.yml"
PROM_LOG="$PROM_HOME/prometheus.log"
PROM_PID="$PROM_HOME/prometheus.pid"
PROM_TEMPLATE="$SERVICES_DIR/prometheus/prometheus.yml"
PROM_SD_DIR="${EAIO_PROMETHEUS_SD_DIR:-.local/prometheus/targets}"
case "$PROM_SD_DIR" in /*) ;; *) PROM_SD_DIR="$REPO/$PROM_SD_DIR" ;; esac

prometheus_where() { echo "http://127.0.0.1:$PROM_PORT (file_sd targets: $PROM_SD_DIR)"; }
prometheus_env() {
  echo "export PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT"
  # Absolute, so a worker started from another directory still writes where Prometheus reads.
  echo "export EAIO_PROMETHEUS_SD_DIR=$PROM_SD_DIR"
}

prom_probe() { http_ok "http://127.0.0.1:$PROM_PORT/-/ready"; }

prometheus_apt_needs() { echo prometheus; }

prom_install() {
  pkg_installed prometheus && command -v prometheus >/dev/null && return 0
  local t0
  t0=$(now_ms)
  log "prometheus: installing the Debian package (binary only, the Debian service stays unused)"
  apt_install prometheus
  log "prometheus: installed ($(elapsed "$t0"))"
}

# Renders the template; returns 0 when the file changed (so a running server must reload).
prom_write_config() {
  mkdir -p "$PROM_HOME" "$PROM_DATA" "$PROM_SD_DIR"
  local tmp="$PROM_CONF.tmp"
  sed -e "s|@SD_DIR@|$PROM_SD_DIR|g" -e "s|@PORT@|$PROM_PORT|g" "$PROM_TEMPLATE" >"$tmp"
  if ! promtool check config "$tmp" >"$PROM_HOME/promtool.log" 2>&1; then
    cat "$PROM_HOME/promtool.log" >&2
    die "prometheus: $PROM_TEMPLATE does not validate (promtool check config); fix it and rerun"
  fi
  if cmp -s "$tmp" "$PROM_CONF"; then
    rm -f "$tmp"
    return 1
  fi
  mv "$tmp" "$PROM_CONF"
}

prom_running_pid() { owned_pid "$PROM_PID" "$PROM_CONF"; }

prometheus_up() {
  prom_install
  local pid changed=0
  prom_write_config && changed=1
  if pid=$(prom_running_pid); then
    if ((changed)); then
      log "prometheus: config changed, reloading pid $pid"
      kill -HUP "$pid"
    fi
    wait_until prometheus 60 "$pid" "$PROM_LOG" prom_probe ||
      die "prometheus: pid $pid does not answer; 'eaio services down prometheus' then 'up prometheus', log: $PROM_LOG"
    log "prometheus: already running (pid $pid)"
    return 0
  fi
  require_port_free prometheus "$PROM_PORT"
  log "prometheus: starting"
  spawn_bg "$PROM_PID" "$PROM_LOG" prometheus \
    --config.file="$PROM_CONF" \
    --storage.tsdb.path="$PROM_DATA" \
    --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --web.enable-lifecycle \
    --log.level=warn
  wait_until prometheus 60 "$(read_pid "$PROM_PID")" "$PROM_LOG" prom_probe ||
    die "prometheus: not ready; read $PROM_LOG"
}

prometheus_down() { stop_pid_file prometheus "$PROM_PID" "$PROM_CONF" 30; }

prometheus_status() {
  local pid
  if pid=$(prom_running_pid) && prom_probe 2>/dev/null; then
    echo "prometheus  up    http://127.0.0.1:$PROM_PORT (pid $pid)"
  elif [[ -n ${pid:-} ]]; then
    echo "prometheus  DOWN  pid $pid alive but /-/ready fails on 127.0.0.1:$PROM_PORT"
    return 1
  else
    echo "prometheus  DOWN"
    return 1
  fi
}
