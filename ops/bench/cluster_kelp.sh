#!/usr/bin/env bash
# Start/stop a one-node kelp cluster (`kelp master` + `kelp volume` as two processes) on 127.0.0.1,
# with the same verbs and layout as /work/shared/bench/cluster_seaweedfs.sh, so the reference
# benchmark scripts (w5_memory.py's --reset-cmd/--stop-cmd/--start-cmd) drive kelp and weed alike.
# Usage:
#   cluster_kelp.sh start        DATADIR [MASTER_PORT VOLUME_PORT]
#   cluster_kelp.sh stop         DATADIR
#   cluster_kelp.sh stop-volume  DATADIR      # stop only the volume server (by PID)
#   cluster_kelp.sh start-volume DATADIR      # start only the volume server again
#   cluster_kelp.sh pids         DATADIR      # comma-separated PIDs (for --server-pids)
# Env: KELP (command that runs kelp, default the repo venv's python -m ops.cli.main),
#      INDEX (kelp volume -index: memory (default) or leveldb), VOLUME_SIZE_LIMIT_MB (default 30000, as
#      the weed script), VOLUME_MAX (default 100), LOG_LEVEL (default info), VOLUME_EXTRA (extra flags).
# gRPC ports are HTTP port + 10000, the Raft port is MASTER_PORT + 1. The pid files hold the
# interpreter's own pid (nohup execs it), and processes are stopped by that pid only.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
KELP=${KELP:-"$REPO/.venv/bin/python -m ops.cli.main"}
export PYTHONPATH="$REPO:$REPO/proto${PYTHONPATH:+:$PYTHONPATH}"
cmd=${1:?cmd}; D=${2:?datadir}
MP=${3:-29333}; VP=${4:-29080}
mkdir -p "$D"/pids "$D"/logs
D=$(cd "$D" && pwd)
ports_file="$D/ports"
if [ "$cmd" = start ]; then echo "$MP $VP" > "$ports_file"; fi
if [ -f "$ports_file" ]; then read -r MP VP < "$ports_file"; fi

wait_http() { # url timeout_s
  local url=$1 t=${2:-60} i=0
  while [ $i -lt $((t*20)) ]; do
    if curl -s -o /dev/null -m 1 "$url"; then return 0; fi
    sleep 0.05; i=$((i+1))
  done
  echo "timeout waiting for $url" >&2; return 1
}
stop_pid() { # name
  local f="$D/pids/$1.pid"; [ -f "$f" ] || return 0
  local p; p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    # kelp's own stop deadline is 8 s; allow 15 before SIGKILL, as the weed script does
    for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$p" 2>/dev/null; then echo "$1 ($p) hung on shutdown; kill -9" >&2; kill -9 "$p" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$f"
}
start_volume() {
  mkdir -p "$D/volume"
  cd "$REPO"
  # shellcheck disable=SC2086
  nohup $KELP volume -ip=127.0.0.1 -port="$VP" -port.grpc=$((VP+10000)) -dir="$D/volume" \
     -max="${VOLUME_MAX:-100}" -master=127.0.0.1:"$MP" -index="${INDEX:-memory}" \
     -logLevel="${LOG_LEVEL:-info}" ${VOLUME_EXTRA:-} >> "$D/logs/volume.log" 2>&1 &
  echo $! > "$D/pids/volume.pid"
  wait_http "http://127.0.0.1:$VP/status" 300
}
case "$cmd" in
  start)
    mkdir -p "$D/master"
    cd "$REPO"
    # shellcheck disable=SC2086
    nohup $KELP master -ip=127.0.0.1 -port="$MP" -port.grpc=$((MP+10000)) -raft.port=$((MP+1)) \
       -mdir="$D/master" -volumeSizeLimitMB="${VOLUME_SIZE_LIMIT_MB:-30000}" -defaultReplication=000 \
       -logLevel="${LOG_LEVEL:-info}" > "$D/logs/master.log" 2>&1 &
    echo $! > "$D/pids/master.pid"
    wait_http "http://127.0.0.1:$MP/cluster/status" 60
    start_volume
    # wait until the master sees the volume server
    for _ in $(seq 1 200); do
      if curl -s "http://127.0.0.1:$MP/dir/status" | grep -q "127.0.0.1:$VP"; then break; fi; sleep 0.05; done
    echo "master=127.0.0.1:$MP volume=127.0.0.1:$VP pids=$("$0" pids "$D")"
    ;;
  stop) stop_pid volume; stop_pid master ;;
  stop-volume) stop_pid volume ;;
  start-volume) start_volume ;;
  pids) ls "$D"/pids/*.pid >/dev/null 2>&1 && cat "$D"/pids/*.pid | paste -sd, - || true ;;
  *) echo "unknown cmd $cmd" >&2; exit 2 ;;
esac
