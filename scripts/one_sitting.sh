#!/usr/bin/env bash
# The timings of issue 17 in one sitting (docs/PERFORMANCE.md): the speed-of-light kernel
# (../shared/bench/sol) alternating with bench.toml on 1 thread, 2 threads against 1, the baseline
# at its 14,300 agents against 1,000,000, peak memory at 40 and 400 runs, and the evaluations per
# minute of a calibration of history_2022.toml. Times on a shared VM move by ±30 %: run it on an
# idle machine and read ranges, not single figures.
#
# Usage: scripts/one_sitting.sh [L2SIM_BINARY] [SOL_DIR]
# (defaults: $L2SIM, else target/release/l2sim built first; ../shared/bench/sol). About 6 minutes.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-${L2SIM:-$repo/target/release/l2sim}}
sol=${2:-$repo/../shared/bench/sol}
if [ $# -eq 0 ] && [ -z "${L2SIM:-}" ]; then (cd "$repo" && cargo build --release --quiet); fi
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CARGO_TARGET_DIR="$work/sol" cargo build --release --quiet --manifest-path "$sol/Cargo.toml"
kernel() { "$work/sol/release/sol" 2>&1 | sed -n 's/.*one core \([^,]*\),.*/\1/p'; }
rate() { # decisions per second of a finished run, in millions
    python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['perf']['decisions_per_second']/1e6, 3))" "$1/summary.json"
}
run() { # run OUT ARGS...: an l2sim run into $work/OUT, its summary printed nowhere
    local out=$1; shift
    "$bin" run "$@" --no-plots -q --out "$work/$out" > /dev/null
}
for i in 1 2 3; do
    k=$(kernel)
    run b1_$i "$repo/scenarios/bench.toml" --runs 64 --threads 1
    r=$(rate "$work/b1_$i")
    echo "kernel one core $k /s; bench.toml 1 thread $r M/s; ratio $(python3 -c "print(round($r * 1e6 / $k, 3))")"
done
for i in 1 2; do
    run b2_$i "$repo/scenarios/bench.toml" --runs 64 --threads 2
    run b1x_$i "$repo/scenarios/bench.toml" --runs 64 --threads 1
    echo "bench.toml 2 threads $(rate "$work/b2_$i") M/s, then 1 thread $(rate "$work/b1x_$i") M/s"
done
sed 's/^agents = 12000$/agents = 839161/; s/^agents = 1500$/agents = 104895/;
     s/^agents = 600$/agents = 41958/; s/^agents = 200$/agents = 13986/' \
    "$repo/scenarios/baseline.toml" > "$work/million.toml"
for i in 1 2; do
    run base_$i "$repo/scenarios/baseline.toml" --runs 8 --threads 1
    /usr/bin/time -f "%e s %M KB" -o "$work/m_$i.time" "$bin" run "$work/million.toml" --runs 1 \
        --threads 1 --no-plots -q --out "$work/m_$i" > /dev/null
    echo "baseline 14,300 agents $(rate "$work/base_$i") M/s; 1,000,000 agents $(rate "$work/m_$i") M/s ($(cat "$work/m_$i.time"))"
done
for n in 40 400; do
    /usr/bin/time -f "%e s %M KB" -o "$work/mem_$n.time" "$bin" run "$repo/scenarios/bench.toml" \
        --runs "$n" --no-plots -q --out "$work/mem_$n" > /dev/null
    echo "bench.toml $n runs: $(cat "$work/mem_$n.time")"
done
start=$(date +%s.%N)
"$bin" calibrate "$repo/scenarios/history_2022.toml" --runs 20 --budget 20 --out "$work/cal" -q > /dev/null
python3 - "$work/cal/calibrate.json" "$start" "$(date +%s.%N)" << 'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = d["evaluations"] + d["profile_evaluations"] + 1
s = float(sys.argv[3]) - float(sys.argv[2])
print(f"calibration: {n} evaluations in {s:.1f} s, {60 * n / s:.0f} per minute")
PY
echo "kernel one core at the end $(kernel) /s"
