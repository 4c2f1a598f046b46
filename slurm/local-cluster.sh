#!/usr/bin/env bash
# slurm/local-cluster.sh start|stop|status
#
# A real single-node Slurm on this machine, for tests (tests/integration/slurm_test.cpp) and for trying
# `effrobust submit` without a cluster. Run as root. Needs the packages from scripts/install-deps.sh
# (slurmctld, slurmd, slurm-client, munge).
#
#   start   writes /etc/slurm/slurm.conf (marked as ours), starts munged, slurmctld and slurmd directly (no
#           systemd) and waits until `sinfo` shows the node usable. Idempotent: a healthy cluster is left alone.
#           Refuses to touch a slurm.conf that this script did not write.
#   stop    shuts down slurmctld and slurmd (`scontrol shutdown`) and the munged this script started.
#   status  prints the daemons' and the node's state; exit 0 when healthy, 1 otherwise.
#
# The node declares max(8, nproc) CPUs (SlurmdParameters=config_overrides), more than the cores it has, so
# that a test job with one coordinator task and two worker tasks (3 CPUs) fits on a 2-core machine without
# every job needing --overcommit. Production batch scripts ask for real CPUs; only this test node lies.
# Everything it writes besides slurm.conf lives under $EFFROBUST_SLURM_DIR (default /var/spool/effrobust-slurm).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
DIR=${EFFROBUST_SLURM_DIR:-/var/spool/effrobust-slurm}
TIMEOUT_S=${EFFROBUST_SLURM_TIMEOUT_S:-60}
MARKER="# effrobust-local-cluster: written by slurm/local-cluster.sh (effrobust); it may replace this file."
NODE=$(hostname -s)

die() { echo "[local-cluster] error: $*" >&2; exit 1; }
say() { echo "[local-cluster] $*"; }

require_tools() {
  local t
  for t in munged munge unmunge slurmctld slurmd scontrol sinfo; do
    command -v "$t" >/dev/null 2>&1 ||
      die "'$t' is not installed; run scripts/install-deps.sh (packages slurmctld slurmd slurm-client munge)"
  done
  [ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
}

# The slurm.conf this script wants, on stdout.
render_conf() {
  local cpus mem_mb
  cpus=$(nproc)
  [ "$cpus" -lt 8 ] && cpus=8
  mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 3 / 4}' /proc/meminfo)
  cat <<EOF
$MARKER
# Single-node test cluster; see docs/operations.md, "Submitting to Slurm".
ClusterName=effrobust-local
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=$NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

conf_is_ours() { [ -f "$CONF" ] && grep -qxF "$MARKER" "$CONF"; }

# Writes our slurm.conf if it differs; prints "changed" or "same". Never replaces a foreign file.
write_conf() {
  if [ -e "$CONF" ] && ! conf_is_ours; then
    die "$CONF exists and was not written by effrobust (no marker line); refusing to replace it." \
        "Move it away to let slurm/local-cluster.sh write its own, or run the tests on a machine without it."
  fi
  local want
  want=$(render_conf)
  if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$want" ]; then
    echo same
    return
  fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$want" >"$CONF.effrobust-tmp"
  mv "$CONF.effrobust-tmp" "$CONF"
  echo changed
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
ctld_ok() { scontrol ping 2>/dev/null | grep -q "is UP"; }
node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1; }
node_usable() {
  case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}
conf_current() { conf_is_ours && [ "$(cat "$CONF")" = "$(render_conf)" ]; }
healthy() { conf_current && munge_ok && pid_alive "$DIR/slurmctld.pid" && pid_alive "$DIR/slurmd.pid" && ctld_ok && node_usable; }

start_munge() {
  munge_ok && return
  [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (the munge package creates it)"
  mkdir -p /run/munge
  chown munge:munge /run/munge
  chmod 755 /run/munge
  say "starting munged"
  runuser -u munge -- munged
  : >"$DIR/munged.ours"
  local i
  for i in $(seq 1 50); do munge_ok && return; sleep 0.1; done
  die "munged did not answer within 5 s (see /var/log/munge/munged.log)"
}

stop_daemons() {
  if pid_alive "$DIR/slurmctld.pid"; then scontrol shutdown >/dev/null 2>&1 || true; fi
  local f i
  for f in slurmctld slurmd; do
    for i in $(seq 1 100); do pid_alive "$DIR/$f.pid" || break; sleep 0.1; done
    if pid_alive "$DIR/$f.pid"; then kill "$(cat "$DIR/$f.pid")" 2>/dev/null || true; fi
    for i in $(seq 1 50); do pid_alive "$DIR/$f.pid" || break; sleep 0.1; done
    pid_alive "$DIR/$f.pid" && die "$f (pid $(cat "$DIR/$f.pid")) did not stop"
    rm -f "$DIR/$f.pid"
  done
}

start() {
  require_tools
  if healthy; then
    say "already up: node $NODE is $(node_state)"
    return
  fi
  mkdir -p "$DIR/ctld" "$DIR/d"
  local conf_change
  conf_change=$(write_conf)
  start_munge
  if [ "$conf_change" = changed ]; then
    say "wrote $CONF"
    stop_daemons  # daemons running with an older configuration of ours
  fi
  if ! pid_alive "$DIR/slurmctld.pid" || ! ctld_ok; then
    pid_alive "$DIR/slurmctld.pid" && stop_daemons
    say "starting slurmctld"
    slurmctld || die "slurmctld failed to start (see $DIR/slurmctld.log)"
  fi
  if ! pid_alive "$DIR/slurmd.pid"; then
    say "starting slurmd"
    slurmd || die "slurmd failed to start (see $DIR/slurmd.log)"
  fi
  local deadline=$(( $(date +%s) + TIMEOUT_S )) resumed=0 state
  while :; do
    state=$(node_state)
    case "$state" in
      idle | mixed | allocated | completing)
        say "up: node $NODE is $state (sinfo)"
        return
        ;;
      drain* | down* | fail*)
        if [ $resumed -eq 0 ] && ctld_ok; then
          scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
          resumed=1
        fi
        ;;
    esac
    if [ "$(date +%s)" -ge $deadline ]; then
      die "node $NODE is not usable after ${TIMEOUT_S} s (sinfo state: '${state:-none}');" \
          "see $DIR/slurmctld.log and $DIR/slurmd.log"
    fi
    sleep 0.5
  done
}

stop() {
  require_tools
  if [ -e "$CONF" ] && ! conf_is_ours; then
    die "$CONF was not written by effrobust; not stopping a cluster this script does not own"
  fi
  stop_daemons
  if [ -f "$DIR/munged.ours" ]; then
    pid_alive /run/munge/munged.pid && kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    rm -f "$DIR/munged.ours"
  fi
  say "stopped"
}

status() {
  require_tools
  local ok=0
  conf_is_ours && say "config:    $CONF (ours)" || { say "config:    $CONF missing or not ours"; ok=1; }
  munge_ok && say "munged:    up" || { say "munged:    down"; ok=1; }
  pid_alive "$DIR/slurmctld.pid" && ctld_ok && say "slurmctld: up" || { say "slurmctld: down"; ok=1; }
  pid_alive "$DIR/slurmd.pid" && say "slurmd:    up" || { say "slurmd:    down"; ok=1; }
  node_usable && say "node:      $NODE $(node_state)" || { say "node:      $NODE '$(node_state)'"; ok=1; }
  return $ok
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
