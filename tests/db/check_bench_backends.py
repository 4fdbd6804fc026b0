#!/usr/bin/env python3
"""`webaccel bench` on the backends beyond the native CPU, one small MiniLM cell each (8 tokens,
one timed iteration), stored and reported beside a native CPU cell of the same run:

  node      wasm@node with 1 and 2 threads (web/node.mjs)
  chromium  wasm@chromium (headless, JS API) and webgpu@chromium (measured, or skipped with the reason)
  firefox   wasm@firefox (Firefox ESR) and webgpu@firefox (measured, or skipped with the reason)
  webgpu    the CLI's --backend webgpu: with WEBACCEL_GPU_DISABLE=1 a skipped row with the CLI's reason,
            never a webgpu figure; without it, a webgpu measurement or a skipped row with the reason
  scripts   the guide's --browser / --enable-wasm-fallback --disable-webgpu / --enable-compute-shaders
            select what runs; edge, safari and contradictory flags are errors

Usage: WEBACCEL_BIN=build/release/webaccel python3 tests/db/check_bench_backends.py CASE...
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import check_bench_cli as cli
from check_bench_cli import BIN, MODELS, ROOT, report, run, table

SMALL = ["--models", "minilm", "--seq-lens", "8", "--iterations", "1", "--models-dir", MODELS, "--no-progress"]


def stored_rows(db):
    """Every stored row of the run, measured or skipped, from the run's JSON file."""
    files = [os.path.join(cli.TMP, "benchmark_results", f) for f in os.listdir(os.path.join(cli.TMP, "benchmark_results"))]
    rows = []
    for f in files:
        if f.endswith(".json"):
            rows += json.load(open(f))["measurements"]
    return rows


def bench(backends, db, threads="1", env=None):
    shutil.rmtree(os.path.join(cli.TMP, "benchmark_results"), ignore_errors=True)
    p = run(["bench", *SMALL, "--backends", backends, "-t", threads, "--db", db], env=env, check=0)
    return p, stored_rows(db)


def check_measured(m, backend, host):
    assert m["cell_status"] == "measured", m
    assert m["backend"] == backend and m["host"] == host, m
    for k in ("loading_time_ms", "first_inference_time_ms", "average_inference_time_ms", "tokens_per_second"):
        assert m[k] and m[k] > 0, (k, m)
    assert m["sequence_length"] == 8 and m["cell_command"], m


def check_webgpu_row(m, p):
    if m["cell_status"] == "skipped":
        assert m["skip_reason"], m
        assert m["average_inference_time_ms"] is None, m
        assert "SKIPPED" in p.stderr, p.stderr
        print(f"ok   {m['backend']}@{m['host']}: skipped: {m['skip_reason'][:120]}")
    else:
        check_measured(m, "webgpu", m["host"])
        assert m["adapter"], m
        print(f"ok   {m['backend']}@{m['host']}: measured on {m['adapter']}: {m['average_inference_time_ms']:.1f} ms")


def check_beside_native(db, hosts):
    rep = report(db, "browser_comparison")
    configs = " | ".join(r["configuration"] for r in table(rep, "Measurements"))
    for h in hosts:
        assert h in configs, (h, configs)
    assert "cpu " in configs, configs
    versus = table(rep, "Each backend")
    assert versus and all(float(r["this / native CPU"].rstrip("x")) > 0 for r in versus), versus
    return rep


def case_node():
    db = os.path.join(cli.TMP, "n.duckdb")
    p, rows = bench("cpu,wasm@node", db, threads="1,2")
    wasm = [m for m in rows if m["backend"] == "wasm"]
    assert sorted(m["threads"] for m in wasm) == [1, 2], wasm
    for m in wasm:
        check_measured(m, "wasm", "node")
        assert m["memory_usage_mb"] > 0 and m["host_version"].startswith("v"), m
        assert m["runtime_variant"] == ("wasm-simd-threads" if m["threads"] == 2 else "wasm-simd"), m
    check_beside_native(db, ["wasm@node"])
    print(f"ok   wasm@node t1, t2: {[round(m['average_inference_time_ms'], 1) for m in wasm]} ms per sentence, beside cpu")


def case_browser(host):
    db = os.path.join(cli.TMP, f"{host}.duckdb")
    p, rows = bench(f"cpu,wasm@{host},webgpu@{host}", db)
    wasm = next(m for m in rows if m["backend"] == "wasm")
    check_measured(wasm, "wasm", host)
    assert wasm["browser"] == host and wasm["browser_version"], wasm
    # Browsers whose relaxed SIMD passes the loader's probe run the relaxed build.
    assert wasm["runtime_variant"] in ("wasm-simd", "wasm-simd-relaxed"), wasm
    assert wasm["memory_usage_mb"] and wasm["memory_usage_mb"] > 0 and "VmHWM" in wasm["cell_command"], wasm
    check_webgpu_row(next(m for m in rows if m["backend"] == "webgpu"), p)
    rep = check_beside_native(db, [f"wasm@{host}"])
    if any(m["cell_status"] == "skipped" for m in rows):
        assert table(rep, "Cells not measured"), "skipped cells must be listed in the report"
    print(f"ok   wasm@{host} {wasm['browser_version']}: {wasm['average_inference_time_ms']:.1f} ms per sentence, beside cpu")


def case_webgpu():
    db = os.path.join(cli.TMP, "w.duckdb")
    p, rows = bench("webgpu", db, env={"WEBACCEL_GPU_DISABLE": "1"})
    (m,) = rows
    assert m["cell_status"] == "skipped" and m["skip_reason"] and m["average_inference_time_ms"] is None, m
    assert "SKIPPED" in p.stderr and "1 skipped" in p.stderr, p.stderr
    rep = report(db, "web_platform")
    assert not table(rep, "Measurements"), "a skipped cell must not appear as a measurement"
    assert table(rep, "Cells not measured")[0]["reason"] == m["skip_reason"]
    print(f"ok   webgpu with WebGPU disabled: skipped: {m['skip_reason'][:120]}")
    p, rows = bench("webgpu", db)
    check_webgpu_row(rows[0], p)


def case_scripts():
    env = {**os.environ, "WEBACCEL_BIN": BIN, "WEBACCEL_MODELS_DIR": MODELS, "DEPRECATE_JSON_OUTPUT": "1"}
    script = os.path.join(ROOT, "scripts", "run_web_platform_tests.sh")
    for args, needle in ((["--browser", "edge"], "Edge cannot run"), (["--browser", "safari"], "Safari cannot run"),
                         (["--enable-compute-shaders", "--disable-webgpu"], "contradict"),
                         (["--enable-simd"], "--enable-simd"), (["--disable-webgpu"], "nothing would run WebGPU")):
        p = subprocess.run([script, "--model", "bert", *args], capture_output=True, text=True, env=env)
        assert p.returncode == 2 and needle in p.stderr, (args, p.returncode, p.stderr)
        print(f"ok   run_web_platform_tests.sh {' '.join(args)} -> 2")
    small = ["--model", "bert", "--seq-lens", "8", "--iterations", "1", "--threads", "1"]
    # Software WebGPU is slowest in Chromium (SwiftShader): its WebGPU cell is in the chromium case.
    for args, expected in ((["--browser", "chrome", "--enable-wasm-fallback", "--disable-webgpu"], {("wasm", "chromium")}),
                           (["--enable-wasm-fallback", "--disable-webgpu"], {("wasm", "node")}),
                           (["--enable-compute-shaders"], {("webgpu", "native")}),
                           (["--browser", "firefox", "--enable-compute-shaders"], {("webgpu", "firefox")})):
        db = os.path.join(cli.TMP, "s.duckdb")
        if os.path.exists(db):
            os.remove(db)
        p = subprocess.run([script, *small, *args, "--db-path", db], capture_output=True, text=True, env=env)
        assert p.returncode == 0, (args, p.stderr[-2000:])
        rows = run(["report", "--report", "browser_comparison", "--format", "json", "--db", db], check=0).stdout
        rep = json.loads(rows)
        seen = {(r["configuration"].split()[1].split("@")[0], (r["configuration"].split()[1].split("@") + ["native"])[1])
                for r in table(rep, "Measurements") + table(rep, "Cells not measured")}
        assert seen == expected, (args, seen, expected)
        print(f"ok   run_web_platform_tests.sh {' '.join(args)} -> ran {sorted(seen)}")


CASES = {"node": case_node, "chromium": lambda: case_browser("chromium"), "firefox": lambda: case_browser("firefox"),
         "webgpu": case_webgpu, "scripts": case_scripts}

if __name__ == "__main__":
    wanted = sys.argv[1:]
    if not wanted or any(c not in CASES for c in wanted):
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(CASES)}...")
    for name in wanted:
        cli.TMP = tempfile.mkdtemp(prefix=f"webaccel_backends_{name}_")  # the shared helpers run in it
        try:
            CASES[name]()
        finally:
            shutil.rmtree(cli.TMP, ignore_errors=True)
    print("all passed")
