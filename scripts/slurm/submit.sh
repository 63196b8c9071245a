#!/bin/bash
# Submits an l2sim batch to Slurm as a job array of N shards plus a merge job that runs when
# every shard has succeeded; prints the two job ids.
#
#   scripts/slurm/submit.sh SCENARIO.toml [MORE.toml ...] --shards N [options]
#
# Options (everything else is passed to l2sim, e.g. --runs 5000 --seed 7 --save-runs):
#   --command run|compare|sweep  what to run (default run; compare takes two or more scenarios)
#   --shards N                   number of shards = array tasks (required)
#   --out DIR                    merged output folder (default outputs/<first scenario's file name>);
#                                shard folders and Slurm logs go to DIR.shards/
#   --cpus C                     CPUs (= l2sim threads) per shard (default 1)
#   --only K[,K...]              resubmit only these shards (after a failure) and a new merge job
#   --l2sim PATH                 the binary (default $L2SIM, else target/release/l2sim of this
#                                repository, else l2sim on PATH)
#   --sbatch "ARGS"              extra sbatch arguments for both jobs (partition, time, account)
set -euo pipefail

die() { echo "submit.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

command=run
shards=""
out=""
cpus=1
only=""
l2sim=${L2SIM:-}
extra_sbatch=""
scenarios=()
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --command) command=${2:?--command needs a value}; shift 2 ;;
        --shards) shards=${2:?--shards needs a value}; shift 2 ;;
        --out) out=${2:?--out needs a value}; shift 2 ;;
        --cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
        --only) only=${2:?--only needs a value}; shift 2 ;;
        --l2sim) l2sim=${2:?--l2sim needs a value}; shift 2 ;;
        --sbatch) extra_sbatch=${2?--sbatch needs a value}; shift 2 ;;
        --shard) die "--shard is set per array task; give --shards N" ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        --*)
            # An l2sim flag, with its value unless it is a switch.
            case "$1" in
                --save-runs|--force|--no-plots) pass+=("$1"); shift ;;
                *) pass+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
            esac ;;
        *) scenarios+=("$1"); shift ;;
    esac
done

[ ${#scenarios[@]} -gt 0 ] || die "give a scenario file (see --help)"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "--shards N: a positive whole number is required"
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus C: a positive whole number is required"
case "$command" in
    run|sweep) [ ${#scenarios[@]} -eq 1 ] || die "$command takes one scenario file" ;;
    compare) [ ${#scenarios[@]} -ge 2 ] || die "compare takes two or more scenario files" ;;
    *) die "--command $command: must be run, compare or sweep" ;;
esac
for s in "${scenarios[@]}"; do
    [ -f "$s" ] || die "$s: no such scenario file"
done
if [ -z "$l2sim" ]; then
    if [ -x "$repo/target/release/l2sim" ]; then
        l2sim=$repo/target/release/l2sim
    else
        l2sim=$(command -v l2sim) || die "no l2sim binary: build it with cargo build --release or pass --l2sim"
    fi
fi
l2sim=$(cd "$(dirname "$l2sim")" && pwd)/$(basename "$l2sim")
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
args=()
for s in "${scenarios[@]}"; do args+=("$(abs "$s")"); done
if [ -z "$out" ]; then
    name=$(basename "${scenarios[0]}" .toml)
    out=outputs/$name
fi
mkdir -p "$(dirname "$out")"
out=$(abs "$out")
work=$out.shards
mkdir -p "$work/logs"

# Check the scenario and flags here, before anything is queued: a bad input fails now, not in N tasks.
for s in "${args[@]}"; do
    "$l2sim" validate "$s" > /dev/null || die "$s does not validate"
done

array="1-$shards"
if [ -z "$only" ]; then
    # A new batch: shard folders of an earlier one (perhaps with another N) would be merged too.
    rm -rf "${work:?}"/shard-*
fi
if [ -n "$only" ]; then
    [[ "$only" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--only K[,K...]: shard numbers separated by commas"
    for k in ${only//,/ }; do
        [ "$k" -ge 1 ] && [ "$k" -le "$shards" ] || die "--only $k: shards are numbered 1 to $shards"
        rm -rf "${work:?}/shard-$k"
    done
    array=$only
fi

export L2SIM=$l2sim L2SIM_SHARDS=$shards L2SIM_WORK=$work L2SIM_OUT=$out
# shellcheck disable=SC2086 # extra_sbatch is a list of sbatch arguments
array_job=$(sbatch --parsable --export=ALL --array="$array" --cpus-per-task="$cpus" \
    --output="$work/logs/shard-%a.out" $extra_sbatch \
    "$here/shard.sbatch" "$command" "${args[@]}" "${pass[@]}")
array_job=${array_job%%;*}
# shellcheck disable=SC2086
merge_job=$(sbatch --parsable --export=ALL --dependency="afterok:$array_job" \
    --kill-on-invalid-dep=yes --cpus-per-task=1 --output="$work/logs/merge.out" $extra_sbatch \
    "$here/merge.sbatch")
merge_job=${merge_job%%;*}
echo "array job $array_job: $command of ${scenarios[*]} in $shards shards (tasks $array) -> $work/shard-K"
echo "merge job $merge_job: after every task succeeds -> $out"
echo "logs: $work/logs/; a failed shard K: $0 --command $command ${scenarios[*]} --shards $shards ${pass[*]} --out $out --only K"
echo "$array_job $merge_job" > "$work/jobs"
