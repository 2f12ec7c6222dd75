#!/usr/bin/env bash
# Make a Docker daemon available for the real-Docker tests.
#
#   bash scripts/start-dockerd.sh         # install docker.io if needed, start dockerd if none answers
#   bash scripts/start-dockerd.sh stop    # stop the daemon this script started (and nothing else)
#
# - Installs Debian's docker.io (Docker 20.10, API 1.41) when dockerd is missing (needs root
#   and apt; nothing else is downloaded).
# - Starts dockerd in the background only when no daemon answers; its log and pid file live
#   in $XDG_RUNTIME_DIR/capdkc-dockerd (or /tmp/capdkc-dockerd), never in the repository.
# - Tries the default configuration first (bridge networking with iptables, overlay2). If
#   that daemon does not come up, retries once with iptables disabled and the vfs storage
#   driver, for sandboxes without netfilter or overlayfs.
set -euo pipefail

STATE_DIR="${XDG_RUNTIME_DIR:-/tmp}/capdkc-dockerd"
PID_FILE="$STATE_DIR/started-by-script.pid" # marker: the daemon this script started
DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"    # written (and removed on exit) by dockerd itself
LOG_FILE="$STATE_DIR/dockerd.log"
WAIT_SECONDS="${CAPDKC_DOCKERD_WAIT:-60}"

log() { echo "start-dockerd: $*" >&2; }

daemon_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

stop_ours() {
  if [ ! -f "$PID_FILE" ]; then
    log "no pid file at $PID_FILE: this script did not start a daemon, nothing to stop"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    as_root kill -TERM "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
  else
    log "dockerd pid $pid is not running"
  fi
  rm -f "$PID_FILE"
}

install_docker() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    return 0
  fi
  log "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends docker.io iptables ca-certificates
}

daemon_pid() { cat "$DOCKERD_PIDFILE" 2>/dev/null || true; }

wait_for_daemon() {
  local launcher="$1" deadline=$((SECONDS + WAIT_SECONDS)) pid
  while [ "$SECONDS" -lt "$deadline" ]; do
    if daemon_answers; then return 0; fi
    pid="$(daemon_pid)"
    # Give up early when neither the launcher nor a dockerd it started is alive.
    if ! kill -0 "$launcher" 2>/dev/null && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; }; then
      return 1
    fi
    sleep 1
  done
  return 1
}

start_daemon() {
  mkdir -p "$STATE_DIR"
  local attempt
  for attempt in default fallback; do
    local flags=()
    if [ "$attempt" = fallback ]; then
      flags=(--iptables=false --ip-masq=false --storage-driver=vfs)
    fi
    log "starting dockerd ($attempt configuration${flags[*]:+: ${flags[*]}}); log: $LOG_FILE"
    # setsid: the daemon outlives this script and the CI step's process group. The pid that
    # matters is dockerd's own (--pidfile), not the launcher's ($!), which may be sudo/setsid.
    rm -f "$DOCKERD_PIDFILE"
    if [ "$(id -u)" -eq 0 ]; then
      setsid dockerd --pidfile "$DOCKERD_PIDFILE" "${flags[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
    else
      # shellcheck disable=SC2024 # the log is ours to write; only dockerd needs root
      sudo setsid dockerd --pidfile "$DOCKERD_PIDFILE" "${flags[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
    fi
    local launcher=$!
    if wait_for_daemon "$launcher"; then
      daemon_pid >"$PID_FILE"
      log "dockerd is up (pid $(cat "$PID_FILE")): $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
      return 0
    fi
    daemon_pid >"$PID_FILE"
    log "dockerd ($attempt) did not answer within ${WAIT_SECONDS}s; last log lines:"
    tail -n 15 "$LOG_FILE" >&2 || true
    stop_ours
  done
  log "giving up: no Docker daemon"
  return 1
}

case "${1:-start}" in
  stop) stop_ours ;;
  start)
    if daemon_answers; then
      log "a Docker daemon already answers; not starting another"
      exit 0
    fi
    install_docker
    if daemon_answers; then exit 0; fi
    start_daemon
    ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
