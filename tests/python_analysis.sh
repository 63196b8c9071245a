#!/bin/bash
# The Python analysis path, end to end: fresh l2sim outputs with --parquet (a run with
# trajectories, a compare, a sweep), read by examples/analyse.py with pandas and polars, numbers
# checked against summary.json and compare.json, the fan chart redrawn with matplotlib; and a
# tampered summary.json must make the check fail.
#
# Uses the virtual environment $L2SIM_VENV (default target/python-venv), creating it and installing
# pandas, pyarrow, polars and matplotlib with pip when missing. Run by .ci/run.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
say() { echo "python_analysis: $*"; }
fail() { echo "python_analysis: FAILED: $*" >&2; exit 1; }

venv=${L2SIM_VENV:-$repo/target/python-venv}
py=$venv/bin/python
if ! "$py" -c "import pandas, pyarrow, polars, matplotlib" 2> /dev/null; then
    say "creating $venv with pandas, pyarrow, polars, matplotlib"
    python3 -m venv "$venv" || fail "python3 -m venv"
    "$py" -m pip install --quiet --disable-pip-version-check pandas pyarrow polars matplotlib \
        || fail "pip install pandas pyarrow polars matplotlib"
fi
say "$("$py" -c 'import pandas, pyarrow, polars, matplotlib; print(f"pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, polars {polars.__version__}, matplotlib {matplotlib.__version__}")')"

cargo build --release --quiet
l2sim=$repo/target/release/l2sim
t=$(mktemp -d /tmp/l2sim-python.XXXXXX)
trap 'rm -rf "$t"' EXIT

"$l2sim" run tests/data/small.toml --runs 60 --save-runs --parquet --out "$t/run" -q > /dev/null
"$l2sim" compare tests/data/small.toml tests/data/small_fast_zk.toml --runs 60 --parquet \
    --out "$t/compare" -q > /dev/null
"$l2sim" sweep tests/data/small_sweep_2d.toml --runs 20 --parquet --out "$t/sweep" -q > /dev/null
for f in run/quantiles run/runs run/trajectories compare/compare compare/A_small/runs sweep/sweep; do
    [ -s "$t/$f.parquet" ] || fail "l2sim wrote no $f.parquet"
done

"$py" examples/analyse.py "$t/run" "$t/compare" --sweep "$t/sweep" --chart "$t/fan.png" --check \
    || fail "examples/analyse.py --check"
[ -s "$t/fan.png" ] && [ "$(head -c 4 "$t/fan.png" | tail -c 3)" = PNG ] || fail "no PNG chart"

# One run: no standard deviation anywhere (null in summary.json, NaN in pandas).
"$l2sim" run tests/data/small.toml --runs 1 --parquet --out "$t/one" -q > /dev/null
"$py" examples/analyse.py "$t/one" --check > /dev/null || fail "examples/analyse.py --check on one run"

# The check must be able to fail: a summary.json whose mean was changed.
"$py" - "$t/run/summary.json" << 'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["metrics"]["l2_share"]["mean"] *= 1.001
json.dump(d, open(p, "w"))
PY
if "$py" examples/analyse.py "$t/run" --check > /dev/null 2>&1; then
    fail "the check passed on a tampered summary.json"
fi
say "passed: pandas and polars read every table, numbers equal summary.json and compare.json"
