#!/usr/bin/env python3
"""Measures how l2sim's time and memory grow with agents, chains, horizon and runs.

Generates scenarios from scenarios/bench.toml (and tests/data/small.toml for the runs axis) in a
temporary folder, runs the release binary once per size under /usr/bin/time, and prints a
Markdown table with wall time, peak resident memory, decisions per second and the fitted
log-log exponent of time against size. Usage: python3 scripts/scaling.py [--quick]
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "l2sim")
BENCH = open(os.path.join(ROOT, "scenarios", "bench.toml")).read()
SMALL_PATH = os.path.join(ROOT, "tests", "data", "small.toml")


def scaled_agents(text, factor):
    return re.sub(r"^agents = (\d+)$", lambda m: f"agents = {max(1, round(int(m.group(1)) * factor))}", text, flags=re.M)


def with_chains(text, n):
    """bench.toml with its 9 chains plus copies of its rollups until there are n (or only the first n)."""
    head, rest = text.split("[[chains]]", 1)
    blocks = ["[[chains]]" + b for b in ("[[chains]]" + rest).split("[[chains]]")[1:]]
    tail_start = blocks[-1].find("[[segments]]")
    tail = blocks[-1][tail_start:]
    blocks[-1] = blocks[-1][:tail_start]
    rollups = [b for b in blocks if 'kind = "optimistic"' in b or 'kind = "zk"' in b and "launch_day" not in b]
    out = blocks[:n]
    i = 0
    while len(out) < n:
        b = rollups[i % len(rollups)]
        out.append(re.sub(r'^id = "(\w+)"', f'id = "copy{i}_\\1"', b, flags=re.M).replace("initial_tvl_usd = ", "initial_tvl_usd = 0.1 * ").replace("0.1 * ", ""))
        i += 1
    return head + "".join(out) + tail


def run(path, runs, threads=1):
    out = tempfile.mkdtemp()
    cmd = ["/usr/bin/time", "-v", BIN, "run", path, "--runs", str(runs), "--threads", str(threads), "--out", out + "/o", "-q", "--no-plots"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", p.stderr).group(1)
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    summary = json.load(open(out + "/o/summary.json"))
    return secs, rss, summary["perf"]["decisions_per_second"]


def fit(xs, ys):
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def table(name, sizes, results):
    print(f"\n| {name} | wall time (s) | peak memory (MB) | decisions/s |")
    print("|---|---|---|---|")
    for s, (t, m, d) in zip(sizes, results):
        print(f"| {s:,} | {t:.2f} | {m:.1f} | {d / 1e6:.2f} M |")
    print(f"| fitted exponent of time | {fit(sizes, [r[0] for r in results]):.2f} | memory: {fit(sizes, [r[1] for r in results]):.2f} | |")


def main():
    quick = "--quick" in sys.argv
    tmp = tempfile.mkdtemp()
    print("Measured with", BIN, "(1 thread unless stated); figures from /usr/bin/time -v and summary.json.")

    sizes = [1_000, 10_000, 100_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    res = []
    for n in sizes:
        p = os.path.join(tmp, f"agents{n}.toml")
        open(p, "w").write(scaled_agents(BENCH, n / 10_000))
        res.append(run(p, 1))
    table("agents (bench.toml, 1 run)", sizes, res)

    sizes = [4, 9, 16, 32, 64]
    res = []
    for n in sizes:
        p = os.path.join(tmp, f"chains{n}.toml")
        open(p, "w").write(with_chains(BENCH, n))
        res.append(run(p, 2))
    table("chains (bench.toml agents, 2 runs)", sizes, res)

    sizes = [90, 365, 1825, 3650]
    res = []
    for h in sizes:
        p = os.path.join(tmp, f"horizon{h}.toml")
        text = re.sub(r"^horizon_days = \d+", f"horizon_days = {h}", BENCH, flags=re.M)
        open(p, "w").write(text)
        res.append(run(p, 2))
    table("horizon in days (bench.toml, 2 runs)", sizes, res)

    sizes = [10, 100, 1_000, 10_000] if quick else [10, 100, 1_000, 10_000, 100_000]
    res = [run(SMALL_PATH, n, threads=2) for n in sizes]
    table("runs (tests/data/small.toml: 770 agents, 120 days; 2 threads)", sizes, res)


if __name__ == "__main__":
    main()
