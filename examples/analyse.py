#!/usr/bin/env python3
"""Analyse l2sim outputs with pandas (and polars): the headline table of a run (with units from
metrics.csv), the comparison table of a compare, a sweep's paired differences against point 0,
and the TVL fan chart redrawn with matplotlib.

    python examples/analyse.py outputs/baseline [outputs/compare_baseline_vs_zk_fast_withdrawals]
        [--sweep outputs/sweep_x] [--chart tvl_fan.png] [--check]

Reads the Parquet tables when the folders have them (`l2sim run --parquet`), else the CSV ones.
With --check it also verifies, and exits with 1 if not, that:
  - pandas and polars read every Parquet table, with the same values as its CSV;
  - the means, standard deviations, counts and missing counts it computes from runs.* equal
    summary.json's (up to 1e-9 relative: pandas sums in another order than l2sim);
  - runs_long.* holds exactly the values of the wide runs.* (one row per run, metric and chain);
  - the comparison table equals compare.json's entries;
  - with a sweep run with --save-runs, each point's diff_mean of sweep.csv equals the mean over
    runs of points/<p>/runs.csv minus points/0/runs.csv (common random numbers).
Tables are tidy: `metric` and `chain` columns (chain empty/null for whole-system and per-run
metrics); `seed` is a string `0x` + 16 hex digits (int(s, 16)), a u64 in Parquet.
Needs pandas and matplotlib; pyarrow for Parquet; polars optional.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

HEADLINE = ["l2_share", "zk_share_of_l2", "alt_l1_share", "tvl_total_usd", "mean_in_transit_usd",
            "zk_overtakes_day"]
# Relative tolerance for statistics recomputed in pandas: l2sim sums runs in blocks of 32
# (Welford, then Chan's combination), pandas pairwise; the results differ by rounding only.
RTOL = 1e-9


def table(folder: Path, name: str) -> pd.DataFrame:
    """A table of an output folder: the Parquet copy if there is one, else the CSV."""
    parquet = folder / f"{name}.parquet"
    if parquet.exists():
        return pd.read_parquet(parquet)
    return pd.read_csv(folder / f"{name}.csv")


def close(a, b) -> bool:
    """Equal up to RTOL; None and NaN (no value, e.g. the sd of one run) are equal."""
    def missing(x):
        return x is None or (isinstance(x, float) and math.isnan(x))
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-300)


def units(folder: Path) -> dict:
    """(metric, per) -> unit, from the folder's metrics.csv."""
    u = pd.read_csv(folder / "metrics.csv")
    return {(r.metric, r.per): r.unit for r in u.itertuples()}


def headline(run: Path):
    """Per headline metric: n, mean, sd, 95 % interval from runs; p05/p50/p95 from summary.json
    (l2sim's quantile sketch)."""
    runs = table(run, "runs")
    summary = json.loads((run / "summary.json").read_text())
    unit = units(run)
    rows = []
    for m in HEADLINE:
        col = runs[m].astype("float64")
        n = int(col.notna().sum())
        mean = float(col.mean()) if n else None
        sd = float(col.std(ddof=1)) if n > 1 else None
        half = 1.959963984540054 * sd / math.sqrt(n) if sd is not None else None
        s = summary["metrics"][m]
        rows.append({
            "metric": m, "unit": unit.get((m, "system"), unit.get((m, "run"))), "n": n, "missing": int(col.isna().sum()), "mean": mean, "sd": sd,
            "ci95_low": None if half is None else mean - half,
            "ci95_high": None if half is None else mean + half,
            "p05": s["p05"], "p50": s["p50"], "p95": s["p95"],
        })
    return pd.DataFrame(rows), summary


def check_headline(df: pd.DataFrame, summary: dict) -> list:
    problems = []
    for r in df.to_dict("records"):
        s = summary["metrics"][r["metric"]]
        for key, theirs in [("n", s["n"]), ("missing", s["missing"]), ("mean", s["mean"]),
                            ("sd", s["sd"]), ("ci95_low", s["ci95_low"]),
                            ("ci95_high", s["ci95_high"])]:
            if not close(r[key], theirs):
                problems.append(f"{r['metric']}.{key}: pandas {r[key]!r}, summary.json {theirs!r}")
    return problems


def check_long(run: Path) -> list:
    """runs_long (run, metric, chain, value) pivoted back is the wide runs table."""
    wide = table(run, "runs").drop(columns=["seed"]).set_index("run")
    long = table(run, "runs_long")
    chain = long["chain"].astype("string").fillna("")
    long = long.assign(column=long["metric"].astype("string").where(chain == "", long["metric"].astype("string") + "." + chain))
    back = long.pivot(index="run", columns="column", values="value")[list(wide.columns)]
    a, b = wide.to_numpy(dtype="float64"), back.to_numpy(dtype="float64")
    if a.shape != b.shape or not ((a == b) | (pd.isna(a) & pd.isna(b))).all():
        return [f"{run}: runs_long does not hold the values of runs"]
    return []


def check_sweep_pairs(folder: Path) -> list:
    """diff_mean of sweep.csv against the points' saved runs (mean of point p − point 0)."""
    problems = []
    sw = table(folder, "sweep")
    sw = sw[sw["chain"].astype("string").fillna("") == ""]
    base = pd.read_csv(folder / "points" / "0" / "runs.csv").set_index("run")
    for p in sorted(int(d.name) for d in (folder / "points").iterdir()):
        runs = pd.read_csv(folder / "points" / str(p) / "runs.csv").set_index("run")
        for m in ["l2_share", "zk_share_of_l2", "zk_overtakes_day"]:
            d = (runs[m] - base[m]).dropna()
            row = sw[(sw["point"] == p) & (sw["metric"] == m)].iloc[0]
            if int(row["diff_n"]) != len(d) or not close(float(d.mean()) if len(d) else None,
                                                         None if pd.isna(row["diff_mean"]) else float(row["diff_mean"])):
                problems.append(f"sweep point {p} {m}: diff_mean {row['diff_mean']} (n {row['diff_n']}), "
                                f"from points/: {d.mean()} (n {len(d)})")
    return problems


def comparison(folder: Path):
    df = table(folder, "compare")
    return df, json.loads((folder / "compare.json").read_text())


def check_comparison(df: pd.DataFrame, doc: dict) -> list:
    """Every (scenario B, metric) row of the table equals compare.json's entry."""
    problems = []
    checked = 0
    chain = df["chain"].astype("string").fillna("")
    for c in doc["comparisons"]:
        for metric, m in c["metrics"].items():
            rows = df[(df["scenario_b"] == c["scenario"]) & (df["metric"] == m["metric"])
                      & (chain == m["chain"])]
            if len(rows) != 1:
                problems.append(f"compare: {len(rows)} rows for {c['scenario']} / {metric}")
                continue
            r = rows.iloc[0]
            pairs = [("n", m["n"]), ("mean_a", m["mean_a"]), ("mean_b", m["mean_b"]),
                     ("mean_diff", m["mean_diff"]), ("ci95_low", m["ci95"][0]),
                     ("ci95_high", m["ci95"][1]), ("sd_diff", m["sd_diff"]),
                     ("p_b_gt_a", m["p_b_gt_a"]), ("unpaired_ci95_low", m["unpaired_ci95"][0]),
                     ("unpaired_ci95_high", m["unpaired_ci95"][1]),
                     ("variance_reduction", m["variance_reduction"])]
            for key, theirs in pairs:
                ours = None if pd.isna(r[key]) else float(r[key])
                if not close(ours, None if theirs is None else float(theirs)):
                    problems.append(f"compare {c['scenario']}/{metric}.{key}: table {ours!r}, compare.json {theirs!r}")
            checked += 1
    if checked == 0:
        problems.append("compare.json has no metric")
    return problems


def check_parquet(folders) -> list:
    """Every Parquet table reads in pandas (and polars) with the values of its CSV."""
    problems = []
    try:
        import polars as pl
    except ImportError:
        pl = None
    found = 0
    for folder in folders:
        for parquet in sorted(folder.rglob("*.parquet")):
            found += 1
            csv = parquet.with_suffix(".csv")
            a = pd.read_parquet(parquet)
            b = pd.read_csv(csv)
            if list(a.columns) != list(b.columns) or len(a) != len(b):
                problems.append(f"{parquet}: shape {a.shape} vs CSV {b.shape}")
                continue
            for c in a.columns:
                x, y = a[c], b[c]
                if c == "seed":
                    same = (x.astype("uint64") == y.map(lambda s: int(s, 16)).astype("uint64")).all()
                elif str(x.dtype) == "category" or x.dtype == object:
                    same = (x.astype("string").fillna("") == y.astype("string").fillna("")).all()
                else:
                    same = ((x.astype("float64") == y.astype("float64")) | (x.isna() & y.isna())).all()
                if not same:
                    problems.append(f"{parquet}: column {c} differs from the CSV")
            if pl is not None:
                p = pl.read_parquet(parquet)
                if p.shape != a.shape or p.columns != list(a.columns):
                    problems.append(f"{parquet}: polars reads shape {p.shape}, pandas {a.shape}")
    if found == 0:
        problems.append("no Parquet table found (run l2sim with --parquet)")
    return problems


def fan_chart(run: Path, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = table(run, "quantiles")
    tvl = q[q["metric"] == "tvl_usd"]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    for chain, g in tvl.groupby("chain", observed=True):
        g = g.sort_values("day")
        line, = ax.plot(g["day"], g["p50"], label=str(chain), linewidth=1.5)
        ax.fill_between(g["day"], g["p05"], g["p95"], color=line.get_color(), alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("day")
    ax.set_ylabel("TVL (USD)")
    summary = json.loads((run / "summary.json").read_text())
    ax.set_title(f"TVL per chain: median and p05–p95, {summary['runs']} runs of {summary['scenario']}")
    ax.legend(ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="output folder of `l2sim run`")
    ap.add_argument("compare", type=Path, nargs="?", help="output folder of `l2sim compare`")
    ap.add_argument("--sweep", type=Path, help="output folder of `l2sim sweep` (its table is printed too)")
    ap.add_argument("--chart", type=Path, help="write the TVL fan chart to this PNG")
    ap.add_argument("--check", action="store_true", help="verify against summary.json and compare.json")
    args = ap.parse_args()

    pd.set_option("display.width", 160)
    df, summary = headline(args.run)
    print(f"{summary['scenario']}: {summary['runs']} runs, seed {summary['seed']}")
    print(df.to_string(index=False, float_format=lambda x: f"{x:.6g}"))
    problems = check_headline(df, summary) + check_long(args.run) if args.check else []

    folders = [args.run]
    if args.compare:
        cmp_df, doc = comparison(args.compare)
        heads = cmp_df[cmp_df["metric"].isin(["l2_share", "zk_share_of_l2", "zk_overtakes"])]
        print()
        print(heads[["scenario_b", "scenario_a", "metric", "mean_diff", "ci95_low", "ci95_high",
                     "p_b_gt_a", "variance_reduction"]].to_string(index=False,
                                                                 float_format=lambda x: f"{x:.4g}"))
        if args.check:
            problems += check_comparison(cmp_df, doc)
        folders.append(args.compare)
    if args.sweep:
        sw = table(args.sweep, "sweep")
        zk = sw[sw["metric"] == "zk_share_of_l2"]
        print()
        print(zk.drop(columns=["metric", "chain"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if args.check and (args.sweep / "points").is_dir():
            problems += check_sweep_pairs(args.sweep)
        folders.append(args.sweep)
    if args.check:
        problems += check_parquet(folders)
    if args.chart:
        fan_chart(args.run, args.chart)
        print(f"\nwrote {args.chart}")
    if problems:
        print("\nCHECK FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if args.check:
        print("\ncheck passed: the tables agree with " + ("summary.json and compare.json" if args.compare else "summary.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
