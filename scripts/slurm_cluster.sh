#!/usr/bin/env bash
# A real one-node SLURM cluster on localhost (Debian slurm-wlm + munge), for testing the
# pipeline's SLURM profile (profiles/slurm) end to end. Not for production clusters.
#
#   scripts/slurm_cluster.sh install   apt-get install slurm-wlm and munge if missing
#   scripts/slurm_cluster.sh start     write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd;
#                                      wait until sinfo shows the node idle
#   scripts/slurm_cluster.sh stop      cancel jobs, kill the daemons by recorded pid, clean up
#   scripts/slurm_cluster.sh status    daemons and node state; exit 0 only when the cluster is up
#
# Every subcommand is idempotent. Needs root (or passwordless sudo, used automatically).
# Environment:
#   MTBRIDGE_SLURM_STATE      state folder: pids, logs, spool (default /var/tmp/mtbridge-slurm)
#   MTBRIDGE_SLURM_FAKE_GPUS  advertise N stand-in GPUs (device files with /dev/null's numbers) so
#                             that `--gpus` requests are scheduled on a CPU machine; default: one
#                             GPU per /dev/nvidiaN
#   MTBRIDGE_SLURM_TIMEOUT    seconds to wait for the node to become idle (default 60)
#
# Why things are the way they are (all found on Debian 12, slurm-wlm 22.05, munge 0.5.15):
# - the config must live at /etc/slurm/slurm.conf: snakemake-executor-plugin-slurm strips every
#   SLURM_* variable (SLURM_CONF included) before it calls srun inside a job;
# - there is no accounting daemon (slurmdbd), so sacct cannot report jobs: MinJobAge=3600 keeps
#   finished jobs visible to squeue long enough for `--slurm-status-command squeue`;
# - DefMemPerCPU is set, otherwise a job without --mem is given the whole node's memory;
# - munged's socket folder (/run/munge) must be owned by munge with mode 0711;
# - proctrack/linuxproc and task/none: no cgroups needed, so it also runs inside a container.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
GRES_CONF=$CONF_DIR/gres.conf
MARKER="# written by mtbridge scripts/slurm_cluster.sh"
STATE=${MTBRIDGE_SLURM_STATE:-/var/tmp/mtbridge-slurm}
TIMEOUT=${MTBRIDGE_SLURM_TIMEOUT:-60}
MUNGE_SOCKET_DIR=/run/munge
DAEMONS=(munged slurmctld slurmd)

die() { echo "slurm_cluster.sh: error: $*" >&2; exit 1; }
say() { echo "slurm_cluster.sh: $*"; }

usage() {
    echo "usage: $0 {install|start|stop|status}" >&2
    exit 2
}

# Root is needed for apt-get, /etc/slurm and the daemons: re-run under passwordless sudo if possible.
need_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    if command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
        exec sudo -n --preserve-env=MTBRIDGE_SLURM_STATE,MTBRIDGE_SLURM_FAKE_GPUS,MTBRIDGE_SLURM_TIMEOUT \
            bash "$(readlink -f "$0")" "$@"
    fi
    die "'$1' needs root (or passwordless sudo); run it as root"
}

have_slurm() {
    command -v slurmctld > /dev/null && command -v slurmd > /dev/null && command -v munged > /dev/null \
        && command -v sbatch > /dev/null && command -v sinfo > /dev/null
}

cmd_install() {
    if have_slurm; then
        say "slurm-wlm and munge already installed ($(slurmctld -V))"
        return 0
    fi
    command -v apt-get > /dev/null || die "apt-get not found: install slurm-wlm and munge by hand"
    export DEBIAN_FRONTEND=noninteractive
    local log
    log=$(mktemp)
    if ! apt-get install -y -q slurm-wlm munge > "$log" 2>&1; then
        # a fresh container may have no package lists yet
        apt-get update -q > "$log" 2>&1 || { tail -5 "$log" >&2; die "apt-get update failed"; }
        apt-get install -y -q slurm-wlm munge > "$log" 2>&1 \
            || { tail -5 "$log" >&2; die "apt-get install slurm-wlm munge failed"; }
    fi
    rm -f "$log"
    have_slurm || die "slurm-wlm installed but its daemons are not on PATH"
    say "installed $(slurmctld -V) and $(munged -V 2>&1 | head -1)"
}

pid_of() { cat "$STATE/$1.pid" 2> /dev/null || true; }

# Running, and still the daemon we started: a recorded pid reused by another process is not ours.
is_daemon() { [ "$(cat "/proc/$2/comm" 2> /dev/null)" = "$1" ]; }

alive() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && is_daemon "$1" "$pid"
}

munge_works() { munge -n 2> /dev/null | unmunge > /dev/null 2>&1; }

node_name() { hostname -s; }

node_state() { sinfo -h -N -n "$(node_name)" -o '%t' 2> /dev/null | head -1 || true; }

# CPUs, sockets, cores, threads and memory as slurmd measures them: a node configured with more
# than the hardware has is drained at registration.
hardware_line() {
    slurmd -C | head -1 | tr ' ' '\n' \
        | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' '
}

gpu_devices() {
    local device
    for device in /dev/nvidia[0-9]*; do [ -e "$device" ] && echo "$device"; done
    return 0
}

gpu_count() { echo "${MTBRIDGE_SLURM_FAKE_GPUS:-$(gpu_devices | wc -l)}"; }

# What the configuration depends on: a running cluster with other settings is restarted.
settings_key() {
    echo "node=$(node_name) $(hardware_line) gpus=$(gpu_count) fake=${MTBRIDGE_SLURM_FAKE_GPUS:-no}"
}

write_conf() {
    local host hardware cpus memory gpus gres_line="" gres_types=""
    host=$(node_name)
    hardware=$(hardware_line)
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<< "$hardware")
    memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$hardware")
    [ -n "$cpus" ] && [ -n "$memory" ] || die "could not read CPUs/RealMemory from 'slurmd -C'"
    mkdir -p "$CONF_DIR"
    if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this script; refusing to overwrite it"
    fi
    # GPUs: real ones by their device files; fake ones (testing --gpus on a CPU machine) below
    local devices=()
    mapfile -t devices < <(gpu_devices)
    gpus=$(gpu_count)
    rm -f "$GRES_CONF"
    if [ "$gpus" -gt 0 ]; then
        gres_types="GresTypes=gpu"
        gres_line="Gres=gpu:$gpus"
        if [ -n "${MTBRIDGE_SLURM_FAKE_GPUS:-}" ]; then
            # slurmd drops GPUs without a device file: stand-ins with /dev/null's numbers
            devices=()
            rm -rf "$STATE/fake-gpus"
            mkdir -p "$STATE/fake-gpus"
            for (( i = 0; i < gpus; i++ )); do
                mknod "$STATE/fake-gpus/gpu$i" c 1 3 || die "mknod failed: cannot fake GPUs here"
                devices+=("$STATE/fake-gpus/gpu$i")
            done
        fi
        {
            echo "$MARKER"
            for device in "${devices[@]}"; do echo "NodeName=$host Name=gpu File=$device"; done
        } > "$GRES_CONF"
    fi
    cat > "$CONF" << EOF
$MARKER ($(date -u +%FT%TZ)); 'scripts/slurm_cluster.sh stop' removes it.
ClusterName=mtbridge
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.daemon.pid
SlurmdPidFile=$STATE/slurmd.daemon.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((memory / cpus))
MinJobAge=3600
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=10
$gres_types
NodeName=$host NodeAddr=127.0.0.1 $hardware $gres_line State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# Start one daemon in the foreground of its own session; its pid is the one we record.
launch() {
    local name=$1
    shift
    setsid "$@" >> "$STATE/log/$name.out" 2>&1 < /dev/null &
    echo $! > "$STATE/$name.pid"
}

wait_for() {
    local what=$1 check=$2 deadline=$((SECONDS + TIMEOUT))
    until eval "$check"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
    say "$what after $((SECONDS - start_time)) s"
}

start_munge() {
    if alive munged && munge_works; then return 0; fi
    if munge_works; then
        say "using the munged already running on this machine"
        rm -f "$STATE/munged.pid"
        return 0
    fi
    install -d -o munge -g munge -m 0711 "$MUNGE_SOCKET_DIR"
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0700 /etc/munge
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile=/etc/munge/munge.key > /dev/null
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    rm -f "$MUNGE_SOCKET_DIR/munge.socket.2" "$MUNGE_SOCKET_DIR/munge.socket.2.lock"
    launch munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
    wait_for "munge answers" munge_works || { tail -n 5 "$STATE/log/munged.out" /var/log/munge/munged.log >&2 || true
        die "munged did not start (logs above)"; }
}

cmd_start() {
    have_slurm || die "slurm-wlm/munge not installed: run '$0 install' first"
    [[ ${MTBRIDGE_SLURM_FAKE_GPUS:-0} =~ ^[0-9]+$ ]] \
        || die "MTBRIDGE_SLURM_FAKE_GPUS must be a number, not '$MTBRIDGE_SLURM_FAKE_GPUS'"
    start_time=$SECONDS
    local state key
    key=$(settings_key)
    if [ "$(cat "$STATE/settings" 2> /dev/null)" != "$key" ] && { alive slurmctld || alive slurmd; }; then
        say "settings changed ($key): restarting slurmctld and slurmd"
        stop_pid slurmd
        stop_pid slurmctld
    elif alive slurmctld && alive slurmd; then
        state=$(node_state)
        if [[ $state =~ ^(idle|mix|alloc)$ ]]; then
            say "already running (node $(node_name) $state)"
            return 0
        fi
    fi
    mkdir -p "$STATE/log" "$STATE/slurmctld" "$STATE/slurmd"
    write_conf
    echo "$key" > "$STATE/settings"
    start_munge
    if ! alive slurmctld; then
        launch slurmctld /usr/sbin/slurmctld -D -i
    fi
    wait_for "slurmctld answers" "scontrol ping 2> /dev/null | grep -q UP" \
        || { tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmctld.out" >&2 || true
             die "slurmctld did not come up within ${TIMEOUT} s (log above)"; }
    if ! alive slurmd; then
        launch slurmd /usr/sbin/slurmd -D -N "$(node_name)"
    fi
    if ! wait_for "node $(node_name) idle" '[[ $(node_state) =~ ^(idle|mix|alloc)$ ]]'; then
        sinfo -N -l >&2 || true
        tail -n 20 "$STATE/log/slurmd.log" "$STATE/log/slurmd.out" >&2 || true
        die "node $(node_name) not idle within ${TIMEOUT} s (state: $(node_state); log above)"
    fi
    local cpus memory
    cpus=$(sinfo -h -N -n "$(node_name)" -o '%c')
    memory=$(sinfo -h -N -n "$(node_name)" -o '%m')
    say "up: node $(node_name), $cpus CPUs, $memory MB, partition main; state in $STATE"
}

stop_pid() {
    local name=$1 pid
    pid=$(pid_of "$name")
    if [ -n "$pid" ] && is_daemon "$name" "$pid"; then
        kill -TERM "$pid" 2> /dev/null || true
        for _ in $(seq 50); do is_daemon "$name" "$pid" || break; sleep 0.2; done
        if is_daemon "$name" "$pid"; then
            kill -KILL "$pid" 2> /dev/null || true
            say "$name (pid $pid) killed"
        else
            say "$name (pid $pid) stopped"
        fi
    fi
    rm -f "$STATE/$name.pid"
}

cmd_stop() {
    if alive slurmctld; then
        # running jobs live under slurmstepd, not under the daemons: cancel them first
        local jobs
        jobs=$(squeue -h -o '%i' 2> /dev/null || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            scancel $jobs 2> /dev/null || true
            for _ in $(seq 50); do [ -z "$(squeue -h -o '%i' 2> /dev/null)" ] && break; sleep 0.2; done
            say "cancelled jobs: $(echo $jobs | tr '\n' ' ')"
        fi
    fi
    for (( i = ${#DAEMONS[@]} - 1; i >= 0; i-- )); do stop_pid "${DAEMONS[i]}"; done
    if [ -f "$CONF" ] && grep -qF "$MARKER" "$CONF"; then rm -f "$CONF"; fi
    if [ -f "$GRES_CONF" ] && grep -qF "$MARKER" "$GRES_CONF"; then rm -f "$GRES_CONF"; fi
    # keep the logs for a post-mortem; the spool and controller state go
    if [ -d "$STATE" ]; then
        rm -rf "$STATE/slurmctld" "$STATE/slurmd" "$STATE/fake-gpus" "$STATE/settings" "$STATE"/*.daemon.pid
    fi
    say "stopped (logs kept in $STATE/log)"
}

cmd_status() {
    local up=0 pid
    for name in "${DAEMONS[@]}"; do
        pid=$(pid_of "$name")
        if alive "$name"; then
            echo "$name: running (pid $pid)"
        elif [ "$name" = munged ] && munge_works; then
            echo "$name: running (not started by this script)"
        else
            echo "$name: not running"
            up=1
        fi
    done
    if [ -f "$CONF" ] && command -v sinfo > /dev/null; then
        local state
        state=$(node_state)
        echo "node $(node_name): ${state:-unknown}"
        [[ $state =~ ^(idle|mix|alloc)$ ]] || up=1
    else
        echo "no cluster configured ($CONF missing)"
        up=1
    fi
    return $up
}

[ $# -eq 1 ] || usage
case $1 in
    install) need_root "$@"; cmd_install ;;
    start) need_root "$@"; cmd_start ;;
    stop) need_root "$@"; cmd_stop ;;
    status) cmd_status ;;
    *) usage ;;
esac
