#!/bin/bash
# The Python analysis path, end to end: fresh l2sim outputs with --parquet (a run with
# trajectories, a compare, a sweep), read by examples/analyse.py with pandas and polars, numbers
# checked against summary.json and compare.json, the fan chart redrawn with matplotlib; and a
# tampered summary.json must make the check fail. Then every CSV of a run, a compare and a sweep
# must have the same pandas and polars dtypes at 2 and at 200 runs (and a blanked column must
# make that check fail).
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

# The binary: $L2SIM when set (.ci/run passes the one its test run built: a plain cargo build
# would compile the tree again, because dev-dependencies turn on features of shared crates).
if [ -n "${L2SIM:-}" ]; then
    l2sim=$L2SIM
else
    cargo build --release --quiet
    l2sim=$repo/target/release/l2sim
fi
t=$(mktemp -d /tmp/l2sim-python.XXXXXX)
trap 'rm -rf "$t"' EXIT

"$l2sim" run tests/data/small.toml --runs 60 --save-runs --parquet --out "$t/run" -q > /dev/null
"$l2sim" compare tests/data/small.toml tests/data/small_fast_zk.toml --runs 60 --parquet \
    --out "$t/compare" -q > /dev/null
"$l2sim" sweep tests/data/small_sweep_2d.toml --runs 20 --save-runs --parquet --out "$t/sweep" \
    -q > /dev/null
for f in run/quantiles run/runs run/runs_long run/trajectories compare/compare \
    compare/A_small/runs sweep/sweep sweep/points/1/runs; do
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
# Column types do not depend on the data: a run, a compare and a sweep (with --save-runs) of a
# 30-day version of the small scenarios at 2 and at 200 runs; pandas.read_csv and polars.read_csv
# of every *.csv in each folder (sub-folders included) give the same dtypes at both sizes. With 2
# runs ZK may never overtake (zk_overtakes_day all missing), a point's differences are few, etc.
for s in small small_fast_zk small_sweep_2d small_sobol small_lhs; do
    printf 'extends = "%s"\nname = "tiny_%s"\nhorizon_days = 30\n' \
        "$repo/tests/data/$s.toml" "$s" > "$t/tiny_$s.toml"
done
for n in 2 200; do
    "$l2sim" run "$t/tiny_small.toml" --runs $n --save-runs --no-plots --out "$t/types$n/run" \
        -q > /dev/null
    "$l2sim" compare "$t/tiny_small.toml" "$t/tiny_small_fast_zk.toml" --runs $n --no-plots \
        --out "$t/types$n/compare" -q > /dev/null
    "$l2sim" sweep "$t/tiny_small_sweep_2d.toml" --runs $n --save-runs --no-plots \
        --out "$t/types$n/sweep" -q > /dev/null
done
# The folders of a design's exploration (design.csv, sensitivity.csv, discovery.csv, sweep.csv)
# at 2 and 64 runs per point: 80 Sobol and 24 Latin-hypercube points.
for n in 2 64; do
    "$l2sim" sensitivity "$t/tiny_small_sobol.toml" --runs $n --no-plots \
        --out "$t/types$n/sensitivity" -q > /dev/null
    "$l2sim" discover "$t/tiny_small_lhs.toml" --runs $n --min-coverage 0.5 --no-plots \
        --out "$t/types$n/discover" -q > /dev/null
done
for job in sensitivity discover; do
    mv "$t/types64/$job" "$t/types200/$job"
done
cat > "$t/dtypes.py" << 'PY'
"""Every CSV under folder A and folder B: the same files, and per file the same pandas and polars
dtypes. Prints the two schemas of every file that differs and exits 1."""
import sys
from pathlib import Path

import pandas as pd
import polars as pl

a, b = Path(sys.argv[1]), Path(sys.argv[2])


def schemas(folder: Path):
    out = {}
    for f in sorted(folder.rglob("*.csv")):
        pandas = {c: str(t) for c, t in pd.read_csv(f).dtypes.items()}
        polars = {c: str(t) for c, t in pl.read_csv(f).schema.items()}
        out[str(f.relative_to(folder))] = (pandas, polars)
    return out


sa, sb = schemas(a), schemas(b)
problems = []
if sorted(sa) != sorted(sb):
    problems.append(f"different CSV files: {sorted(set(sa) ^ set(sb))}")
for f in sorted(set(sa) & set(sb)):
    for lib, x, y in [("pandas", sa[f][0], sb[f][0]), ("polars", sa[f][1], sb[f][1])]:
        if x != y:
            diff = {c: (x.get(c), y.get(c)) for c in sorted(set(x) | set(y)) if x.get(c) != y.get(c)}
            problems.append(f"{f}: {lib} dtypes differ, column: ({a}, {b}): {diff}\n"
                            f"    schema in {a}: {x}\n    schema in {b}: {y}")
if problems:
    print("dtype check FAILED:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"{len(sa)} CSV files, the same pandas and polars dtypes in {a} and {b}")
PY
for job in run compare sweep sensitivity discover; do
    "$py" "$t/dtypes.py" "$t/types2/$job" "$t/types200/$job" || fail "dtypes of $job at 2 and 200 (64) runs"
done
# The type check must be able to fail: a copy where one column of runs.csv is all empty.
cp -r "$t/types200/run" "$t/blanked"
"$py" - "$t/blanked/runs.csv" << 'PY'
import csv, sys
p = sys.argv[1]
rows = list(csv.reader(open(p)))
i = rows[0].index("zk_overtakes_day")
for r in rows[1:]:
    r[i] = ""
csv.writer(open(p, "w", newline="")).writerows(rows)
PY
if "$py" "$t/dtypes.py" "$t/types200/run" "$t/blanked" > /dev/null 2>&1; then
    fail "the dtype check passed on a runs.csv with an all-empty column"
fi
say "passed: pandas and polars read every table, numbers equal summary.json and compare.json, dtypes equal at 2 and 200 runs"
