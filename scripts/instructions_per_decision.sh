#!/usr/bin/env bash
# Instructions per agent decision of l2sim on scenarios/bench.toml (1 thread) and of the
# speed-of-light kernel (../shared/bench/sol), counted by valgrind's cachegrind: a figure that does
# not move with the machine's load, unlike times on a shared VM (docs/PERFORMANCE.md). Each is the
# marginal count between two sizes (l2sim: 2 and 6 runs; the kernel: 1 and 3 million reviews), so
# start-up, the equilibrium solve and writing the outputs cancel out.
#
# Usage: scripts/instructions_per_decision.sh [L2SIM_BINARY] [SOL_DIR]
# (defaults: target/release/l2sim, built first; ../shared/bench/sol). The kernel is built
# from a copy whose only change is that its number of reviews comes from the command line and its
# all-cores pass is skipped. Needs valgrind; took 87 s here.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$repo/target/release/l2sim}
sol=${2:-$repo/../shared/bench/sol}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ $# -eq 0 ]; then (cd "$repo" && cargo build --release --quiet); fi
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # the instructions valgrind counts for a command
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 \
        | sed -n 's/.*I *refs: *//p' | tr -d ,
}
decisions() { # decisions of a finished run, from its summary.json
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['decisions_total'])" "$1/summary.json"
}

declare -A ir dec
for runs in 2 6; do
    ir[$runs]=$(count "$bin" run "$repo/scenarios/bench.toml" --runs "$runs" --threads 1 --no-plots \
        --out "$work/r$runs" --quiet)
    dec[$runs]=$(decisions "$work/r$runs")
done
l2sim=$(( (ir[6] - ir[2]) / (dec[6] - dec[2]) ))
echo "l2sim bench.toml: ${ir[6]} instructions for ${dec[6]} decisions (6 runs); marginal $l2sim per decision"

cp -r "$sol/src" "$sol/Cargo.toml" "$sol/Cargo.lock" "$work/"
python3 - "$work/src/main.rs" << 'EOF'
import sys
path = sys.argv[1]
s = open(path).read()
for old, new in [
    ("let reviews = 20_000_000;",
     "let reviews: usize = std::env::args().nth(1).map_or(20_000_000, |a| a.parse().unwrap());"),
    ("    // all cores, independent runs\n",
     "    if std::env::args().nth(1).is_some() { println!(\"one {one:.3e}\"); return; }\n"
     "    // all cores, independent runs\n"),
]:
    assert old in s, f"the kernel changed: {old!r} not found"
    s = s.replace(old, new, 1)
open(path, "w").write(s)
EOF
CARGO_TARGET_DIR="$work/target" cargo build --release --quiet --manifest-path "$work/Cargo.toml"
k1=$(count "$work/target/release/sol" 1000000)
k3=$(count "$work/target/release/sol" 3000000)
kernel=$(( (k3 - k1) / 2000000 ))
echo "speed-of-light kernel: marginal $kernel instructions per decision"
python3 -c "print(f'ratio by instructions (kernel / l2sim): {$kernel / $l2sim:.3f}')"
