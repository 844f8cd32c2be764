#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on loopback, all state in one folder (for the scale-out test).
#   slurm-cluster.sh start DIR CPUS   → prints the SLURM_CONF path when the node is idle
#   slurm-cluster.sh stop DIR
# munged, slurmctld and slurmd run as the current user (root in CI) with their own key, socket,
# ports and spool folders under DIR; nothing of the machine's own Slurm or munge set-up is touched.
# The node declares CPUS CPUs (SlurmdParameters=config_overrides lets it claim more than it has, so
# a job script written for big nodes runs unchanged, only more slowly).
set -euo pipefail
cmd=$1 dir=$2
case "$cmd" in
  start)
    cpus=${3:-2}
    mkdir -p "$dir"/{state,spool,log,munge}
    chmod 700 "$dir/munge"
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
      --seed-file="$dir/munge/munge.seed" --force
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    host=$(hostname -s)
    user=$(id -un)
    cat > "$dir/slurm.conf" <<CONF
ClusterName=gshf-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerParameters=sched_interval=1
MessageTimeout=30
NodeName=gshf1 NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=gshf1 Default=YES MaxTime=INFINITE State=UP
CONF
    : > "$dir/plugstack.conf"
    echo "PlugStackConfig=$dir/plugstack.conf" >> "$dir/slurm.conf"
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -i
    slurmd -N gshf1
    for _ in $(seq 1 120); do
      state=$(sinfo -h -n gshf1 -o %t 2>/dev/null || true)
      case "$state" in idle*|mix*) echo "$SLURM_CONF"; exit 0 ;; esac
      sleep 0.5
    done
    echo "slurm-cluster: node did not become idle (state '${state:-?}'); logs in $dir/log" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    exit 1 ;;
  stop)
    for f in slurmd.pid slurmctld.pid munge/munged.pid; do
      if [ -f "$dir/$f" ]; then kill "$(cat "$dir/$f")" 2>/dev/null || true; fi
    done ;;
  *) echo "usage: $0 start DIR [CPUS] | stop DIR" >&2; exit 2 ;;
esac
