#!/usr/bin/env python3
"""Tables of docs/VALIDATION.md from a run of the calibrated history scenario.

    l2sim run OUT/calibrated.toml --runs 200 --save-runs --out outputs/history_forecast
    python3 scripts/validation.py outputs/history_forecast

Reads the run's trajectories.csv (every run's month-end TVL), the observed L2BEAT month ends
(../shared/data/history, up to 2022-12 only) and the ETH price, and prints Markdown: the in-sample
errors of the model's median against two naive forecasts, and the 2023 forecast with its p05-p95
band. Standard library only.
"""
import csv
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "history")
ROLLUPS = ["arbitrum", "optimism", "base", "zksync", "polygon_zkevm"]
ZK = ["zksync", "polygon_zkevm"]


def quantile(xs, q):
    xs = sorted(x for x in xs if not math.isnan(x))
    if not xs:
        return float("nan")
    h = q * (len(xs) - 1)
    lo, hi = math.floor(h), math.ceil(h)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def main(run_dir, data=DATA):
    price = {r["date"]: float(r["eth_usd"]) for r in csv.DictReader(open(os.path.join(data, "eth_price_month_end.csv")))}
    observed = {}
    for r in csv.DictReader(open(os.path.join(data, "l2beat_tvl_monthly_2021_2022.csv"))):
        if r["chain"] in ROLLUPS:
            observed[(r["month_end_date_used"], r["chain"])] = float(r["tvl_usd_month_end"])
    # Per date and run: the rollups' TVL (trajectories.csv is tidy: run,day,date,metric,chain,value).
    per = {}
    with open(os.path.join(run_dir, "trajectories.csv")) as f:
        for r in csv.DictReader(f):
            if r["metric"] != "tvl_usd" or r["chain"] not in ROLLUPS or r["date"] not in price:
                continue
            per.setdefault(r["date"], {}).setdefault(r["run"], {})[r["chain"]] = float(r["value"])
    runs = {d: list(by_run.values()) for d, by_run in per.items()}
    dates = sorted(runs)

    def measures(tvl, date):
        total = sum(tvl.values())
        arb = tvl.get("arbitrum", 0.0) / total if total > 0 else float("nan")
        zk = sum(tvl.get(c, 0.0) for c in ZK) / total if total > 0 else float("nan")
        return {"arbitrum_share": arb, "zk_share": zk, "rollup_tvl_eth": total / price[date]}

    sim = {d: [measures(t, d) for t in runs[d]] for d in dates}
    obs = {}
    for d in dates:
        tvl = {c: observed[(d, c)] for c in ROLLUPS if (d, c) in observed}
        if "arbitrum" in tvl and "optimism" in tvl:
            obs[d] = measures(tvl, d)
    # The fitted months: from the first month end after Arbitrum's public opening (the first target).
    fitted = [d for d in sorted(obs) if "2021-09-30" <= d <= "2022-12-31"]
    origin = fitted[0]
    names = {"arbitrum_share": "Arbitrum's share of rollup TVL", "rollup_tvl_eth": "rollup TVL (M ETH)"}
    scale = {"arbitrum_share": 1.0, "rollup_tvl_eth": 1e-6}
    print(f"In-sample months {fitted[1]} .. {fitted[-1]}; the naive forecasts start from {origin}.\n")
    print("| measure | model median: MAE (± bootstrap s.e.) | naive frozen at " + origin + ": MAE | naive last month: MAE |")
    print("|---|---|---|---|")
    rng = random.Random(20210801)
    n_runs = len(sim[fitted[0]])

    def model_mae(m, pick):
        errs = [abs(quantile([sim[d][r][m] for r in pick], 0.5) - obs[d][m]) for d in fitted[1:]]
        return sum(errs) / len(errs)

    for m in names:
        err_frozen, err_last = [], []
        for i, d in enumerate(fitted[1:], 1):
            err_frozen.append(abs(obs[origin][m] - obs[d][m]))
            err_last.append(abs(obs[fitted[i - 1]][m] - obs[d][m]))
        s = scale[m]
        mae = model_mae(m, range(n_runs))
        # Monte Carlo error of the model's MAE: 200 bootstrap resamples of the runs.
        boot = [model_mae(m, [rng.randrange(n_runs) for _ in range(n_runs)]) for _ in range(200)]
        mean = sum(boot) / len(boot)
        se = math.sqrt(sum((b - mean) ** 2 for b in boot) / (len(boot) - 1))
        print(f"| {names[m]} | {s*mae:.4f} (± {s*se:.4f}) | {s*sum(err_frozen)/len(err_frozen):.4f} | {s*sum(err_last)/len(err_last):.4f} |")
    print("\nMonth by month (observed, model median [p05, p95]):\n")
    print("| month end | Arbitrum share obs | model | rollup TVL M ETH obs | model |")
    print("|---|---|---|---|---|")
    for d in fitted:
        a = [x["arbitrum_share"] for x in sim[d]]
        e = [x["rollup_tvl_eth"] * 1e-6 for x in sim[d]]
        print(f"| {d} | {obs[d]['arbitrum_share']:.3f} | {quantile(a,.5):.3f} [{quantile(a,.05):.3f}, {quantile(a,.95):.3f}] | "
              f"{obs[d]['rollup_tvl_eth']*1e-6:.3f} | {quantile(e,.5):.3f} [{quantile(e,.05):.3f}, {quantile(e,.95):.3f}] |")
    last = fitted[-1]
    print(f"\nForecast (model median [p05, p95]; naive: frozen at {last}):\n")
    print("| month end | ZK share of rollup TVL | Arbitrum's share of rollup TVL | rollup TVL (M ETH) |")
    print("|---|---|---|---|")
    for d in dates:
        if d <= last:
            continue
        row = [d]
        for m in ["zk_share", "arbitrum_share", "rollup_tvl_eth"]:
            s = 1e-6 if m == "rollup_tvl_eth" else 1.0
            xs = [x[m] * s for x in sim[d]]
            row.append(f"{quantile(xs,.5):.3f} [{quantile(xs,.05):.3f}, {quantile(xs,.95):.3f}]")
        print("| " + " | ".join(row) + " |")
    print(f"| naive | {obs[last]['zk_share']:.3f} | {obs[last]['arbitrum_share']:.3f} | {obs[last]['rollup_tvl_eth']*1e-6:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
