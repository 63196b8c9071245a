#!/usr/bin/env bash
# Fuzzes scenario parsing, validation and (for small scenarios) one simulated run with cargo-fuzz
# (libFuzzer). Seeds the corpus with every shipped, test and bad-input scenario. Usage:
#   scripts/fuzz.sh [SECONDS]          (default 600)
# Needs `cargo install cargo-fuzz`; on a stable toolchain RUSTC_BOOTSTRAP=1 enables the sanitizer
# flags cargo-fuzz passes. Findings land in fuzz/artifacts/scenario/; keep each as a regression
# case under tests/fuzz_regressions/ (tests/fuzz_regressions.rs replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
corpus=fuzz/corpus/scenario
mkdir -p "$corpus"
cp scenarios/*.toml tests/data/*.toml tests/bad_inputs/*.toml tests/fuzz_regressions/* "$corpus"/ 2>/dev/null || true
export RUSTC_BOOTSTRAP=1
cargo fuzz run scenario "$corpus" -- -max_total_time="$seconds" -max_len=16384 -timeout=10 -print_final_stats=1
