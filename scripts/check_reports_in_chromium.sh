#!/usr/bin/env bash
# Opens every kind of report.html that l2sim writes (run, compare, sweep, calibrate) in headless Chromium and fails
# if the page logs anything to the console (errors, exceptions) or renders without its charts.
# Installs Debian's chromium when it is missing. Usage: scripts/check_reports_in_chromium.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The binary: $L2SIM when set (.ci/run passes the one its test run built: a plain cargo build
# would compile the tree again, because dev-dependencies turn on features of shared crates).
if [ -n "${L2SIM:-}" ]; then
  bin=$L2SIM
else
  cargo build --release --quiet
  bin=target/release/l2sim
fi
"$bin" run tests/data/small.toml --runs 6 --out "$work/run" --quiet >/dev/null
"$bin" compare tests/data/small.toml tests/data/small_fast_zk.toml --runs 6 --out "$work/compare" --quiet >/dev/null
"$bin" sweep tests/data/small_sweep_2d.toml --runs 4 --out "$work/sweep2d" --quiet >/dev/null
"$bin" sweep tests/data/small_sweep_zip.toml --runs 4 --out "$work/sweep1d" --quiet >/dev/null
printf 'extends = "%s/tests/data/small.toml"\nname = "small_cal"\nsample_every_days = 10\n[calibrate]\nfit_until = 80\n[[calibrate.parameter]]\nfield = "chains.zk.organic_yield_apy"\nmin = 0.0\nmax = 0.1\n' "$PWD" >"$work/cal.toml"
printf 'day,metric,chain,value\n40,tvl_usd,zk,1.2e9\n80,tvl_usd,zk,1.4e9\n120,tvl_usd,zk,1.5e9\n' >"$work/targets.csv"
"$bin" calibrate "$work/cal.toml" --targets "$work/targets.csv" --runs 4 --budget 6 --out "$work/calibrate" --quiet >/dev/null

failed=0
for page in "$work/run/report.html" "$work/compare/report.html" "$work/compare/A_small/report.html" \
  "$work/sweep2d/report.html" "$work/sweep1d/report.html" "$work/calibrate/report.html"; do
  profile=$(mktemp -d -p "$work")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    --dump-dom "file://$page" >"$work/dom.html" 2>"$work/chromium.log" || {
    echo "FAIL: chromium could not open $page"; cat "$work/chromium.log"; failed=1; continue; }
  if grep -q ":CONSOLE" "$work/chromium.log"; then
    echo "FAIL: console messages in $page:"; grep ":CONSOLE" "$work/chromium.log"; failed=1
  elif ! grep -q "<svg" "$work/dom.html"; then
    echo "FAIL: $page rendered without its charts"; failed=1
  else
    echo "ok: $page opens in headless Chromium with no console message ($(grep -o '<svg' "$work/dom.html" | wc -l) charts)"
  fi
done
exit "$failed"
