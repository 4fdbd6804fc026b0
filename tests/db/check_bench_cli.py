#!/usr/bin/env python3
"""`webaccel bench` and `webaccel report` end to end on real (small) runs of MiniLM:

  bad_input    unknown report/format/model/backend/precision, foreign or newer database -> clear errors, data kept
  concurrency  two bench processes on one DuckDB file at once -> every row of both runs stored
  killed       a bench run killed halfway (SIGKILL) -> database readable, run shown 'incomplete', rows kept
  scripts      the guide's scripts: unknown and unbuilt flags are errors; a native run lands in the database
  quantized    a 3-bit variant of SmolLM2: quantized, evaluated, measured; its ultra_low_precision row checks out

Usage: WEBACCEL_BIN=build/release/webaccel python3 tests/db/check_bench_cli.py CASE...
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("WEBACCEL_BIN", os.path.join(ROOT, "build", "release", "webaccel")))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(ROOT, "models"))
SMALL = ["--models", "minilm", "--iterations", "1", "-t", "1", "--models-dir", MODELS, "--no-progress"]


def run(args, env=None, check=None):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=TMP)
    if check is not None and p.returncode != check:
        sys.exit(f"FAIL: webaccel {' '.join(args)} -> {p.returncode}, expected {check}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def report(db, name="web_platform"):
    return json.loads(run(["report", "--report", name, "--format", "json", "--db", db], check=0).stdout)


def table(rep, title_prefix):
    return next(t["rows"] for t in rep["tables"] if t["title"].startswith(title_prefix))


def expect_error(args, code, needle, env=None):
    p = run(args, env=env)
    if p.returncode != code or needle not in p.stderr:
        sys.exit(f"FAIL: webaccel {' '.join(args)} -> {p.returncode} {p.stderr.strip()!r}; expected {code} with {needle!r}")
    print(f"ok   {' '.join(args[:4])}... -> {code}: {p.stderr.strip()[:110]}")


def case_bad_input():
    db = os.path.join(TMP, "b.duckdb")
    expect_error(["report", "--report", "nope", "--db", db], 2, "unknown value 'nope'")
    expect_error(["report", "--format", "pdf", "--db", db], 2, "--format: unknown value 'pdf'")
    expect_error(["report", "--db", db], 3, "no benchmark database here")
    assert not os.path.exists(db), "a report must not create a database"
    expect_error(["bench", "--models", "gpt5", "--db", db], 2, "unknown model 'gpt5'")
    expect_error(["bench", "--models", "minilm", "--backends", "webnn", "--db", db], 2, "backend 'webnn' is not available")
    expect_error(["bench", "--models", "minilm", "--backends", "cpu@chromium", "--db", db], 2, "use wasm@chromium")
    expect_error(["bench", "--models", "smollm2", "--precisions", "wq3", "--backends", "wasm@node", "--db", db,
                  "--models-dir", MODELS], 2, "not webaccel packages")
    expect_error(["bench", "--models", "minilm", "--precisions", "wq4", "--db", db, "--models-dir", MODELS], 2, "llama GGUFs only")
    expect_error(["bench", "--models", "smollm2", "--precisions", "wq5", "--db", db, "--models-dir", MODELS], 2, "'wq5' for smollm2")
    assert not os.path.exists(db), "bad flags must be refused before the database is created"
    expect_error(["bench", "--import", os.path.join(TMP, "missing.json"), "--db", db], 3, "missing.json: cannot open")
    foreign = os.path.join(TMP, "foreign.duckdb")
    with open(foreign, "w") as f:
        f.write("not a database\n" * 100)
    before = open(foreign, "rb").read()
    expect_error(["bench", *SMALL, "--seq-lens", "8", "--db", foreign], 4, "not a DuckDB database file")
    expect_error(["report", "--db", foreign], 4, "not a DuckDB database file")
    assert open(foreign, "rb").read() == before, "the foreign file was modified"
    run(["bench", *SMALL, "--seq-lens", "8", "--db", db], check=0)
    expect_error(["bench", *SMALL, "--seq-lens", "8", "--db", db], 0, "complete")
    expect_error(["report", "--db", db], 0, "")  # HTML to stdout
    json_files = len(os.listdir(os.path.join(TMP, "benchmark_results")))
    expect_error(["bench", *SMALL, "--db", db], 0, "complete", env={"DEPRECATE_JSON_OUTPUT": "1"})
    assert len(os.listdir(os.path.join(TMP, "benchmark_results"))) == json_files, "DEPRECATE_JSON_OUTPUT=1 still wrote JSON"
    expect_error(["bench", *SMALL, "--db", db], 2, "DEPRECATE_JSON_OUTPUT='yes'", env={"DEPRECATE_JSON_OUTPUT": "yes"})
    rows = table(report(db), "Measurements")
    assert sum(int(r["n"]) for r in rows) == 3, rows


def case_concurrency():
    db = os.path.join(TMP, "c.duckdb")
    seqs = ",".join(str(n) for n in range(4, 16))  # 12 cells each: both processes write all the time
    procs = [subprocess.Popen([BIN, "bench", *SMALL, "--seq-lens", seqs, "--db", db, "--json-dir", os.path.join(TMP, f"j{i}")],
                              cwd=TMP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            sys.exit(f"FAIL: concurrent bench exited {p.returncode}\n{err[-2000:]}")
    rep = report(db)
    runs = table(rep, "Runs")
    assert len(runs) == 2 and all(r["status"] == "complete" for r in runs), runs
    assert all(r["measurements"] == "12 of 12" for r in runs), runs
    n = sum(int(r["n"]) for r in table(rep, "Measurements"))
    assert n == 24, f"expected 24 measurements, found {n}"
    print(f"ok   two concurrent bench processes: {n} of 24 rows stored, both runs complete")


def case_killed():
    db = os.path.join(TMP, "k.duckdb")
    json_dir = os.path.join(TMP, "jk")
    seqs = ",".join(["8"] * 200)
    p = subprocess.Popen([BIN, "bench", *SMALL, "--seq-lens", seqs, "--db", db, "--json-dir", json_dir],
                         cwd=TMP, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    measured = 0
    while time.time() < deadline and measured < 3:  # kill it once a few cells are stored
        time.sleep(0.05)
        for name in os.listdir(json_dir) if os.path.isdir(json_dir) else []:
            if name.endswith(".json"):
                measured = len(json.load(open(os.path.join(json_dir, name)))["measurements"])
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert measured >= 3, "the run never stored a measurement"
    runs = table(report(db), "Runs")
    assert len(runs) == 1 and runs[0]["status"] == "incomplete", runs
    stored = int(runs[0]["measurements"].split()[0])
    assert 3 <= stored < 200, runs
    # The next writer records the verdict in the database itself.
    run(["bench", *SMALL, "--seq-lens", "8", "--db", db], check=0)
    statuses = sorted(r["status"] for r in table(report(db), "Runs"))
    assert statuses == ["complete", "incomplete"], statuses
    print(f"ok   killed run: database readable, run 'incomplete' with its {stored} stored rows")


def case_quantized():
    db = os.path.join(TMP, "q.duckdb")
    run(["bench", "--models", "smollm2", "--precisions", "stored,wq3", "--seq-lens", "8", "--decode-tokens", "2",
         "--iterations", "1", "-t", "2", "--eval-windows", "1", "--models-dir", MODELS, "--no-progress",
         "--package-dir", os.path.join(TMP, "packages"), "--db", db], check=0)
    rows = table(report(db, "ultra_low_precision"), "Quantized variants")
    assert len(rows) == 1 and rows[0]["bits"] == "3", rows
    row = rows[0]
    assert 0 < float(row["memory reduction vs fp16 %"]) < 100, row
    assert float(row["perplexity"]) > 0 and float(row["reference perplexity"]) > 0, row
    expected = (float(row["perplexity"]) / float(row["reference perplexity"]) - 1) * 100
    assert abs(float(row["accuracy impact % (perplexity)"]) - expected) <= 0.1 + 0.01 * abs(expected), (row, expected)
    configs = {r["configuration"].split()[0] for r in table(report(db), "Measurements")}
    assert configs == {"q4_1", "wq3"}, configs
    print(f"ok   wq3 variant: quantized, evaluated ({row['accuracy impact % (perplexity)']}% perplexity impact), measured beside q4_1")


def case_scripts():
    env = {**os.environ, "WEBACCEL_BIN": BIN, "WEBACCEL_MODELS_DIR": MODELS}
    script = os.path.join(ROOT, "scripts", "run_web_platform_tests.sh")
    integrated = os.path.join(ROOT, "scripts", "run_integrated_web_tests.sh")
    for args, needle in ((["--model", "bert", "--frobnicate"], "unknown flag '--frobnicate'"),
                         (["--model", "bert", "--browser", "opera"], "unknown browser"),
                         (["--model", "llama", "--enable-ultra-low-precision", "--bits", "4"], "ultra-low precision is 2 or 3 bits"),
                         (["--model", "bert", "--enable-ultra-low-precision"], "llama GGUFs only"),
                         (["--model", "llama", "--bits", "3"], "--bits needs --enable-ultra-low-precision"),
                         (["--model", "llama", "--adaptive-precision"], "--adaptive-precision: not available yet"),
                         (["--model", "whisper"], "no whisper weights")):
        p = subprocess.run([script] + args, capture_output=True, text=True, env=env)
        assert p.returncode == 2 and needle in p.stderr, (args, p.returncode, p.stderr)
        print(f"ok   run_web_platform_tests.sh {' '.join(args)} -> 2")
    p = subprocess.run([script, "--model", "bert"], capture_output=True, text=True, env={**env, "WEBGPU_SHADER_PRECOMPILE_ENABLED": "1"})
    assert p.returncode == 2 and "WEBGPU_SHADER_PRECOMPILE_ENABLED=1" in p.stderr, p.stderr
    p = subprocess.run([integrated, "--test-type", "june-2025"], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and "june-2025" in p.stderr, p.stderr
    db = os.path.join(TMP, "s.duckdb")
    html = os.path.join(TMP, "s.html")
    p = subprocess.run([integrated, "--test-type", "native", "--models", "bert", "--seq-lens", "8", "--iterations", "1",
                        "--threads", "1", "--db-path", db, "--output-html", html], capture_output=True, text=True,
                       env={**env, "DEPRECATE_JSON_OUTPUT": "1"})
    assert p.returncode == 0, p.stderr
    assert "<svg" in open(html).read()
    assert sum(int(r["n"]) for r in table(report(db), "Measurements")) == 1
    print("ok   run_integrated_web_tests.sh --test-type native: stored and reported")


if __name__ == "__main__":
    cases = {"bad_input": case_bad_input, "concurrency": case_concurrency, "killed": case_killed, "scripts": case_scripts,
             "quantized": case_quantized}
    if len(sys.argv) < 2 or any(c not in cases for c in sys.argv[1:]):
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(cases)}...")
    for name in sys.argv[1:]:
        TMP = tempfile.mkdtemp(prefix=f"webaccel_db_{name}_")
        try:
            cases[name]()
        finally:
            shutil.rmtree(TMP, ignore_errors=True)
    print("all passed")
