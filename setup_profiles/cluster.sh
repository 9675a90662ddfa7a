#!/usr/bin/env bash
# A single-node SLURM cluster reached over SSH, on this machine, for tests and for trying the cluster path.
#
#   setup_profiles/cluster.sh install   # apt-get: slurm-wlm, munge, openssh-server (root)
#   setup_profiles/cluster.sh start     # munged, slurmctld + slurmd (partitions cpu and gpu), sshd on 127.0.0.1
#   setup_profiles/cluster.sh status    # what runs, sinfo
#   setup_profiles/cluster.sh stop      # stops what `start` started, nothing else
#   setup_profiles/cluster.sh stop-sshd | start-sshd   # an SSH outage and its end (the fault tests)
#
# Idempotent: `start` leaves running daemons alone, `stop` only kills the PIDs in its own PID files.
# Everything lives in $SIOX_CLUSTER_DIR (default /var/lib/siox-cluster): slurm.conf, logs, spool, the SSH
# host key, and the client key made for this test (id_ed25519), which is the only key sshd accepts.
# The `gpu` partition is only a name here (same node, no GPU): it lets the training job's directives be checked.
# Runs as root (slurmctld, slurmd and sshd need it); jobs run as the user who submits them over SSH.
set -euo pipefail

DIR=${SIOX_CLUSTER_DIR:-/var/lib/siox-cluster}
SSH_PORT=${SIOX_CLUSTER_SSH_PORT:-2222}
NODE=$(hostname -s)
PACKAGES="slurm-wlm munge openssh-server"

say() { echo "cluster: $*"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null && [ -x /usr/sbin/sshd ]; then
        say "packages present ($PACKAGES)"
    else
        say "installing $PACKAGES"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null
    fi
}

write_slurm_conf() {
    local cpus memory
    # nproc obeys OMP_NUM_THREADS (the test workers set it to 1): the node's CPUs are its affinity's
    cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
    mkdir -p "$DIR"/{spool/ctld,spool/d,log} /etc/slurm
    # No cgroups, no accounting daemon: a container or VM without systemd runs this as is.
    cat >"$DIR/slurm.conf" <<EOF
ClusterName=siox
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
    # slurmctld/slurmd and the client commands (sbatch, squeue over SSH) all read /etc/slurm/slurm.conf.
    if [ -f /etc/slurm/slurm.conf ] && ! cmp -s "$DIR/slurm.conf" /etc/slurm/slurm.conf && ! grep -q '^ClusterName=siox$' /etc/slurm/slurm.conf; then
        echo "cluster: /etc/slurm/slurm.conf exists and is not ours: refusing to overwrite it" >&2
        exit 1
    fi
    if ! cmp -s "$DIR/slurm.conf" /etc/slurm/slurm.conf; then
        cp "$DIR/slurm.conf" /etc/slurm/slurm.conf
        CONF_CHANGED=1
    fi
}

start_munge() {
    if pgrep -x munged >/dev/null; then say "munged: running"; return; fi
    [ -s /etc/munge/munge.key ] || { /usr/sbin/mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged
    # ours: `stop` may stop it (a munged found running is left alone). munged forks: take its own PID file.
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$DIR/munged.pid"
    say "munged: started"
}

start_slurm() {
    if [ "${CONF_CHANGED:-0}" = 1 ]; then  # running daemons keep the node they were started with
        stop_pidfile slurmd "$DIR/slurmd.pid"
        stop_pidfile slurmctld "$DIR/slurmctld.pid"
    fi
    if alive "$DIR/slurmctld.pid"; then say "slurmctld: running"; else slurmctld && say "slurmctld: started"; fi
    if alive "$DIR/slurmd.pid"; then say "slurmd: running"; else slurmd && say "slurmd: started"; fi
    local i state
    for i in $(seq 60); do
        state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true)
        case "$state" in
            idle* | mixed* | allocated*) say "node $NODE: $state"; return ;;
            down* | drain*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    echo "cluster: node $NODE did not come up (state: ${state:-none}); see $DIR/log/" >&2
    exit 1
}

start_sshd() {
    [ -f "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
    [ -f "$DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C siox-cluster-test -f "$DIR/id_ed25519"
    cp "$DIR/id_ed25519.pub" "$DIR/authorized_keys" && chmod 600 "$DIR/authorized_keys"
    cat >"$DIR/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $DIR/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
EOF
    mkdir -p /run/sshd
    if alive "$DIR/sshd.pid"; then say "sshd: running on 127.0.0.1:$SSH_PORT"; else /usr/sbin/sshd -f "$DIR/sshd_config" && say "sshd: started on 127.0.0.1:$SSH_PORT"; fi
}

stop_pidfile() {
    local name=$1 file=$2
    if alive "$file"; then
        kill "$(cat "$file")" && say "$name: stopped"
        for _ in $(seq 20); do alive "$file" || break; sleep 0.5; done
    else
        say "$name: not running"
    fi
}

case "${1:-}" in
    install) install_packages ;;
    start)
        install_packages
        write_slurm_conf
        start_munge
        start_slurm
        start_sshd
        say "ready: ssh -i $DIR/id_ed25519 -p $SSH_PORT $(id -un)@127.0.0.1; partitions: $(sinfo -h -o %P | tr '\n' ' ')"
        ;;
    stop)
        stop_pidfile sshd "$DIR/sshd.pid"
        stop_pidfile slurmd "$DIR/slurmd.pid"
        stop_pidfile slurmctld "$DIR/slurmctld.pid"
        if [ -f "$DIR/munged.pid" ] && [ "$(cat "/proc/$(cat "$DIR/munged.pid")/comm" 2>/dev/null)" = munged ]; then
            stop_pidfile munged "$DIR/munged.pid"
        else
            say "munged: left alone (not started by this script)"
        fi
        rm -f "$DIR/munged.pid"
        ;;
    stop-sshd) stop_pidfile sshd "$DIR/sshd.pid" ;;
    start-sshd) start_sshd ;;
    status)
        for name in slurmctld slurmd sshd; do
            if alive "$DIR/$name.pid"; then say "$name: running"; else say "$name: stopped"; fi
        done
        pgrep -x munged >/dev/null && say "munged: running" || say "munged: stopped"
        sinfo 2>/dev/null || true
        ;;
    *)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
