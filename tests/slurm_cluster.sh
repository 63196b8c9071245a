#!/bin/bash
# A real one-node Slurm cluster on localhost: runs a batch as a 4-task job array through
# scripts/slurm/submit.sh, in which task 3 fails once; checks that the merge job does not run,
# resubmits shard 3 alone (--only 3), waits for the new merge job, and checks the merged folder
# byte for byte against a single-machine run of the same scenario and seed (summary.json: all
# but `perf`).
#
# Installs Debian's slurm-wlm and munge when missing (needs root and apt), starts munged,
# slurmctld and slurmd with a generated slurm.conf in a temporary folder, and stops exactly the
# daemons it started, by their pids, whatever the outcome. Every wait is bounded; on failure it
# prints the Slurm logs. Run by .ci/run; alone: bash tests/slurm_cluster.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "slurm_cluster: $*"; }
fail() { echo "slurm_cluster: FAILED: $*" >&2; exit 1; }

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    [ "$(id -u)" = 0 ] || fail "slurm-wlm and munge are missing and installing them needs root"
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y slurm-wlm munge > /tmp/slurm_cluster_apt.log 2>&1 \
        || { apt-get update > /dev/null 2>&1 && apt-get install -y slurm-wlm munge > /tmp/slurm_cluster_apt.log 2>&1; } \
        || { tail -20 /tmp/slurm_cluster_apt.log; fail "apt-get install slurm-wlm munge"; }
fi

cd "$repo"
# The binary: $L2SIM when set (.ci/run passes the one its test run built: a plain cargo build
# would compile the tree again, because dev-dependencies turn on features of shared crates).
if [ -n "${L2SIM:-}" ]; then
    l2sim=$L2SIM
else
    cargo build --release --quiet
    l2sim=$repo/target/release/l2sim
fi

t=$(mktemp -d /tmp/l2sim-slurm.XXXXXX)
pids=()
dump_logs() {
    for f in "$t"/*.log "$t"/out/merged.shards/logs/*.out; do
        [ -f "$f" ] || continue
        echo "----- $f (last 40 lines)"
        tail -40 "$f"
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ $rc -ne 0 ] && dump_logs
    # Stop the daemons we started, newest first, by pid; wait (bounded) until they are gone.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2> /dev/null || true
    done
    for _ in $(seq 1 50); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
    rm -rf "$t"
    [ $rc -eq 0 ] && say "passed; daemons stopped" || say "daemons stopped"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local secs=$1
    shift
    for _ in $(seq 1 $((secs * 5))); do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
pid_of() { wait_for 15 test -s "$1" && cat "$1"; }

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
base=$(( 20000 + RANDOM % 20000 ))

# munge, with its own key, socket and pid file in the temporary folder.
dd if=/dev/urandom of="$t/munge.key" bs=1024 count=1 status=none
chmod 0400 "$t/munge.key"
munged --key-file="$t/munge.key" --socket="$t/munge.socket" --pid-file="$t/munged.pid" \
    --log-file="$t/munged.log" --seed-file="$t/munge.seed" --force
pids+=("$(pid_of "$t/munged.pid")") || fail "munged did not start"

mkdir -p "$t/state" "$t/spool"
cat > "$t/slurm.conf" << CONF
ClusterName=l2simtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$t/munge.socket
CredType=cred/munge
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/slurmctld.log
SlurmdLogFile=$t/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$t/slurm.conf
slurmctld -f "$SLURM_CONF"
pids+=("$(pid_of "$t/slurmctld.pid")") || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF"
pids+=("$(pid_of "$t/slurmd.pid")") || fail "slurmd did not start"
wait_for 60 bash -c "sinfo -h -o %t | grep -qx idle" || fail "the node did not become idle within 60 s: $(sinfo 2>&1)"
say "cluster up: $(sinfo -h -o '%P %D %t %c CPUs')"

scenario=$repo/tests/data/small.toml
"$l2sim" run "$scenario" --runs 150 --seed 11 --out "$t/out/single" --quiet > /dev/null

# The binary as the array tasks see it, except that task 3 fails the first time: a node lost.
cat > "$t/flaky-l2sim" << FLAKY
#!/bin/bash
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 3 ] && [ ! -e "$t/failed-once" ]; then
    touch "$t/failed-once"
    echo "injected failure of shard 3" >&2
    exit 1
fi
exec "$l2sim" "\$@"
FLAKY
chmod +x "$t/flaky-l2sim"

# Submits through the wrapper, then waits (bounded) until none of its jobs is queued or running
# (accounting is off, so squeue is the source of truth).
submit() {
    L2SIM=$t/flaky-l2sim bash "$repo/scripts/slurm/submit.sh" "$scenario" --shards 4 --runs 150 \
        --seed 11 --out "$t/out/merged" "$@"
    read -r array_job merge_job < "$t/out/merged.shards/jobs"
    [ -n "$array_job" ] && [ -n "$merge_job" ] || fail "submit.sh printed no job ids"
    wait_for 300 bash -c "[ -z \"\$(squeue -h -j $array_job,$merge_job 2> /dev/null)\" ]" \
        || fail "jobs $array_job and $merge_job still queued after 300 s: $(squeue 2>&1)"
}

submit
[ -e "$t/failed-once" ] || fail "the injected failure did not happen"
[ ! -e "$t/out/merged" ] || fail "the merge job ran although shard 3 failed"
for k in 1 2 4; do
    [ -f "$t/out/merged.shards/shard-$k/shard.json" ] || fail "shard $k did not finish"
done
say "shard 3 failed, the merge job was cancelled, shards 1, 2, 4 are kept; resubmitting shard 3 alone"
submit --only 3
[ -f "$t/out/merged/.l2sim-output" ] || fail "the merge job wrote no $t/out/merged (see logs/merge.out)"
say "array job $array_job (shard 3 again) and merge job $merge_job finished"

# Byte for byte: every file, the JSON summary without its perf key.
(cd "$t/out/single" && find . -type f | sort) > "$t/single.files"
(cd "$t/out/merged" && find . -type f | sort) > "$t/merged.files"
diff "$t/single.files" "$t/merged.files" || fail "the merged folder does not hold the same files"
n=0
while read -r f; do
    if [ "$(basename "$f")" = summary.json ] || [ "$(basename "$f")" = compare.json ]; then
        python3 - "$t/out/single/$f" "$t/out/merged/$f" << 'PY' || fail "$f differs outside perf"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("perf"); b.pop("perf")
sys.exit(a != b)
PY
    elif [ "$(basename "$f")" = .l2sim-output ]; then
        # The marker hashes summary.json, whose perf differs: every other line is the same.
        diff <(grep -v -e 'summary.json$' -e 'compare.json$' "$t/out/single/$f") \
             <(grep -v -e 'summary.json$' -e 'compare.json$' "$t/out/merged/$f") \
            || fail "$f differs outside the hashes of summary.json"
    else
        cmp "$t/out/single/$f" "$t/out/merged/$f" || fail "$f differs"
    fi
    n=$((n + 1))
done < "$t/single.files"
say "merged output equals the single-machine run: $n files"
