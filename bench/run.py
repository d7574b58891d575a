#!/usr/bin/env python3
"""Measure nll against the hand-written lower bound, and against JAX when a
Python with JAX is at hand, on the benchmark workloads and write
docs/performance.md.

    [BENCH_PY=python-with-jax] python3 bench/run.py [--n 1e6] [--workloads w1,w2,...]
        [--rounds 3] [--out docs/performance.md] [--no-build] [--peers jax,numpy,...]

Steps:
  1. Data: bench/data/n<N>/<wl>.csv, made by bench/gen_data.py when missing
     (that needs numpy and pandas: set BENCH_PY to a Python that has them).
  2. Builds `nll` (cargo build --release) and the lower bound
     bench/limit-rs (its own crate, outside the nll workspace, built for the
     host CPU).
  3. For each round and workload, runs the peers (below), then `limit-rs eval`
     and then `nll bench --format json` at 1 and 2 threads, one right after
     the other, so each ratio compares figures measured under the same
     machine load. A workload's ratio is the median over rounds of the
     per-round ratios.
  4. Writes the table and the notes around it to OUT.

Peers: when BENCH_PY is set and `$BENCH_PY -c "import jax"` succeeds, each
peer of --peers (default jax: jit(value_and_grad) with scipy's L-BFGS-B, the
fastest peer in the shared harness's README; the others are numpy,
statsmodels, jax-optax, iminuit, iminuit-s0) is timed by bench/peers.py at
one thread, in its own process, on the .npy copy of the same data. Otherwise
the peers' figures are only quoted from the shared harness's README.

Only the Python standard library is used here. The machine is usually
shared: absolute times vary from run to run, ratios much less.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w7t"]
TITLES = {
    "w1": "linear Gaussian",
    "w2": "heteroscedastic Gaussian",
    "w3": "logistic, 10 features",
    "w4": "Poisson, 5 features",
    "w5": "2-component Gaussian mixture",
    "w6": "softmax, K = 5, D = 10",
    "w7": "exponential rise, Gaussian",
    "w7t": "exponential rise, Student-t",
}
# What the shared benchmark's README reports for the fastest peer on another
# machine of the same kind (2 cores, N = 1e6, one thread), in ms: NLL+gradient
# evaluation and fit. Quoted, not measured here.
PEERS_ELSEWHERE = {
    "w1": ("JAX", 2.47, 55),
    "w2": ("JAX", 7.24, 154),
    "w3": ("JAX", 35.6, 280),
    "w4": ("JAX", 7.87, 77.5),
    "w5": ("numpy", 33.5, 717),
    "w6": ("JAX", 11.7, 312),
    "w7": ("JAX", 0.62, 17.3),
    "w7t": ("JAX", 1.05, 37.7),
}
PEERS = ["jax", "numpy", "statsmodels", "jax-optax", "iminuit", "iminuit-s0"]
PEER_TITLES = {"jax": "JAX", "numpy": "numpy", "statsmodels": "statsmodels", "jax-optax": "JAX+optax",
               "iminuit": "iminuit", "iminuit-s0": "iminuit s0"}
# The Python modules each peer imports, for the versions written in the document.
PEER_MODULES = {"jax": ["jax", "jaxlib", "scipy"], "numpy": ["numpy", "scipy"], "statsmodels": ["statsmodels"],
                "jax-optax": ["jax", "jaxlib", "optax"], "iminuit": ["jax", "jaxlib", "iminuit"],
                "iminuit-s0": ["jax", "jaxlib", "iminuit"]}
# A peer process (import, load, jit, 15 evaluations, 3 fits) that takes
# longer than this is counted as failed.
PEER_TIMEOUT_S = 300


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, **kw)


def ensure_data(n, workloads, npy=False):
    """The data folder; makes the workloads' files that are missing (the .csv
    for nll and limit-rs, and with npy the .npy the peers read)."""
    data = os.path.join(ROOT, "bench", "data", f"n{n}")
    exts = ["csv", "npy"] if npy else ["csv"]
    missing = [w for w in workloads if not all(os.path.exists(os.path.join(data, f"{w}.{e}")) for e in exts)]
    if missing:
        py = os.environ.get("BENCH_PY", sys.executable)
        print(f"generating {','.join(missing)} with {py}", flush=True)
        subprocess.run([py, "bench/gen_data.py", "--n", str(n), "--workloads", ",".join(missing)],
                       cwd=ROOT, check=True)
    return data


def run_peak(cmd):
    """Runs cmd like run() and returns (stdout, the child's peak resident
    memory in MiB), read from the rusage of that child alone."""
    # stderr goes to a file so that a chatty child cannot block on a full
    # pipe while stdout is read; wait4 (not wait) keeps the child's rusage.
    with tempfile.TemporaryFile("w+") as errf:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=errf, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        errf.seek(0)
        err = errf.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    # ru_maxrss is in KiB on Linux.
    return out, usage.ru_maxrss / 1024


def limit_eval(data, wl):
    """({threads: (eval_s, fit_s)}, peak MiB) from one `limit-rs eval` run."""
    exe = os.path.join(ROOT, "bench", "limit-rs", "target", "release", "limit-rs")
    out, peak = run_peak([exe, "eval", "--data", data, "--workloads", wl, "--threads", "1,2",
                          "--math", "simd", "--reps", "30", "--fit-reps", "3"])
    res = {"peak_mib": peak}
    if "built without target-cpu=native" in out:
        sys.exit("limit-rs was built for a baseline x86-64, not for this CPU: build it with "
                 "`cargo build --release` run inside bench/limit-rs (its .cargo/config.toml "
                 "applies only there), or drop --no-build")
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            res[r["threads"]] = (r["eval_s"], r["fit_s"])
    return res


def warm(path):
    """Reads a file once so that the timed load finds it in the page cache,
    as the peers find their data in memory. The machine's memory manager
    evicts files left alone for a while: a cold 88 MB Arrow file took
    0.8-1.4 s to map and decode instead of 80 ms, which times the disk."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def nll_bench(data, wl, threads, ext="csv"):
    exe = os.path.join(ROOT, "target", "release", "nll")
    warm(os.path.join(data, f"{wl}.{ext}"))
    out = run([exe, "bench", f"bench/models/{wl}.nll", "--data", os.path.join(data, f"{wl}.{ext}"),
               "--threads", str(threads), "--format", "json"]).stdout
    return json.loads(out.strip().splitlines()[-1])


def fixed_footprint(data, wl, rows=1000):
    """The peak resident memory (MiB) of `nll bench` on the first `rows`
    rows of the workload's CSV: what the process takes whatever the data
    (the binary, its libraries, allocator and thread stacks)."""
    head_dir = os.path.join(data, f"head{rows}")
    os.makedirs(head_dir, exist_ok=True)
    head = os.path.join(head_dir, f"{wl}.csv")
    if not os.path.exists(head):
        with open(os.path.join(data, f"{wl}.csv")) as src, open(head + ".part", "w") as dst:
            for k, line in enumerate(src):
                if k > rows:
                    break
                dst.write(line)
        os.replace(head + ".part", head)
    exe = os.path.join(ROOT, "target", "release", "nll")
    out = run([exe, "bench", f"bench/models/{wl}.nll", "--data", head,
               "--threads", "1", "--format", "json"]).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_rss_mib"]


def ensure_arrow(py, data, workloads):
    """Writes an uncompressed Arrow IPC copy of each workload's CSV with
    pyarrow (when `py` has it) and returns whether the copies exist."""
    if py is None:
        return False
    script = ("import sys, pyarrow.csv as c, pyarrow.feather as f\n"
              "for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):\n"
              "    f.write_feather(c.read_csv(src), dst, compression='uncompressed')\n")
    todo = []
    for wl in workloads:
        dst = os.path.join(data, f"{wl}.arrow")
        if not os.path.exists(dst):
            todo += [os.path.join(data, f"{wl}.csv"), dst]
    if todo:
        p = subprocess.run([py, "-c", script, *todo], capture_output=True, text=True)
        if p.returncode != 0:
            print("no Arrow copies (BENCH_PY cannot write them with pyarrow)", flush=True)
            return False
    return True


def peer_python(peers):
    """(BENCH_PY, {module: version}) when BENCH_PY can import jax, else
    (None, why the peers are not measured)."""
    py = os.environ.get("BENCH_PY")
    if not peers:
        return None, "none was asked for (--peers '')"
    if not py:
        return None, "BENCH_PY was not set"
    try:
        ok = subprocess.run([py, "-c", "import jax"], capture_output=True, text=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        return None, f"BENCH_PY ({py}) cannot import jax"
    mods = sorted({m for p in peers for m in PEER_MODULES[p]})
    out = run([py, "-c", "import importlib, sys\n"
                         "for m in sys.argv[1:]:\n"
                         "    try: print(m, importlib.import_module(m).__version__)\n"
                         "    except Exception: print(m, 'missing')", *mods]).stdout
    return py, dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def peer_run(py, data, wl, peer, threads=1):
    """The JSON record of one `bench/peers.py` run at `threads` threads, or
    None when it failed. With --threads 1, peers.py itself sets OMP,
    OpenBLAS, MKL and numexpr to one thread, appends
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" to
    XLA_FLAGS and pins its process to the first CPU, all before importing
    numpy or JAX; with --threads 2 it sets those libraries to two threads,
    leaves XLA its default (a thread pool over the CPUs it may use) and
    pins the process to the first two CPUs. Nothing is added here."""
    cmd = [py, "bench/peers.py", "--peer", peer, "--workload", wl, "--threads", str(threads), "--data", data]
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=PEER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{peer} {wl}: no result in {PEER_TIMEOUT_S} s", flush=True)
        return None
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    rec = json.loads(lines[-1]) if lines else {}
    if p.returncode != 0 or not rec.get("ok"):
        err = rec.get("error") or (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        print(f"{peer} {wl} failed: {err}", flush=True)
        return None
    return rec


def fmt_ms(s):
    ms = s * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--workloads", default=",".join(ORDER))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--peers", default="jax",
                    help=f"peers to time when BENCH_PY can import jax, of {','.join(PEERS)} ('' for none)")
    a = ap.parse_args()
    n = int(a.n)
    wls = [w for w in a.workloads.split(",") if w]
    peers = [p for p in a.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown peer {p}: choose among {','.join(PEERS)}")
    py, versions = peer_python(peers)
    if py is None:
        print(f"peers not measured: {versions}", flush=True)
        peers = []
    data = ensure_data(n, wls, npy=bool(peers))
    arrow = ensure_arrow(py, data, wls)

    if not a.no_build:
        print("building nll and limit-rs", flush=True)
        run(["cargo", "build", "--release", "--bin", "nll"])
        # Built from inside its folder: cargo reads .cargo/config.toml from the
        # working directory, and that file is what builds the limit for this CPU.
        subprocess.run(["cargo", "build", "--release"], cwd=os.path.join(ROOT, "bench", "limit-rs"),
                       check=True, capture_output=True, text=True)

    fixed = {wl: fixed_footprint(data, wl) for wl in wls}
    rows = {}
    for r in range(a.rounds):
        for wl in wls:
            measured = {p: peer_run(py, data, wl, p) for p in peers}
            lim = limit_eval(data, wl)
            b1 = nll_bench(data, wl, 1)
            b2 = nll_bench(data, wl, 2)
            ba = nll_bench(data, wl, 1, "arrow") if arrow else None
            # Both on both cores: JAX's fit at two threads against nll's
            # whole fit at two threads, from the CSV and from Arrow.
            both = None
            if "jax" in peers:
                pj2 = peer_run(py, data, wl, "jax", threads=2)
                ba2 = nll_bench(data, wl, 2, "arrow") if arrow else None
                if pj2 is not None:
                    both = (pj2, ba2)
            rec = rows.setdefault(wl, {"ratio1": [], "ratio2": [], "speedup": [], "hess": [],
                                       "fit_ratio": [], "b1": [], "b2": [], "ba": [], "lim1": [], "lim2": [], "lim_peak": [],
                                       "both": [],
                                       "peers": {p: {"runs": [], "eval_ratio": [], "whole_ratio": [],
                                                     "arrow_ratio": [], "fit_ratio": []} for p in peers}})
            rec["ratio1"].append(b1["eval_s"] / lim[1][0])
            rec["ratio2"].append(b2["eval_s"] / lim[2][0])
            rec["speedup"].append(b1["eval_s"] / b2["eval_s"])
            rec["hess"].append(b1["eval_grad_hess_s"] / b1["eval_s"])
            rec["fit_ratio"].append(b1["fit_s"] / lim[1][1])
            rec["b1"].append(b1)
            rec["b2"].append(b2)
            if ba is not None:
                rec["ba"].append(ba)
            rec["lim1"].append(lim[1])
            rec["lim_peak"].append(lim["peak_mib"] / b1["data_mib"])
            if both is not None:
                rec["both"].append((both[0], b2, both[1]))
            rec["lim2"].append(lim[2])
            line = (f"round {r + 1} {wl}: eval {fmt_ms(b1['eval_s'])} ms, limit {fmt_ms(lim[1][0])} ms, "
                    f"ratio {rec['ratio1'][-1]:.2f}, 2 threads x{rec['speedup'][-1]:.2f}")
            for p, pr in measured.items():
                if pr is None:
                    continue
                # whole nll fit: load + compile + fit (which includes the
                # Hessian and standard errors), against the peer's fit alone
                whole = b1["load_s"] + b1["compile_s"] + b1["fit_s"]
                pe = rec["peers"][p]
                pe["runs"].append((pr, b1))
                pe["eval_ratio"].append(b1["eval_s"] / pr["eval_s"])
                pe["whole_ratio"].append(whole / pr["fit_s"])
                pe["fit_ratio"].append(b1["fit_s"] / pr["fit_s"])
                if ba is not None:
                    pe["arrow_ratio"].append((ba["load_s"] + ba["compile_s"] + ba["fit_s"]) / pr["fit_s"])
                line += f"; {PEER_TITLES[p]} eval {fmt_ms(pr['eval_s'])} ms, nll/{PEER_TITLES[p]} {pe['eval_ratio'][-1]:.2f}"
            print(line, flush=True)

    many = compile_many_params()
    write_doc(a, n, wls, rows, data, many, peers, versions, fixed)


def compile_many_params(n_features=199, n_rows=1000, reps=5):
    """Median compile time (parse to both programs, gradient and Hessian
    included) of a logistic regression with 200 parameters on small data."""
    import random
    rng = random.Random(7)
    folder = os.path.join(ROOT, "bench", "data", "many_params")
    os.makedirs(folder, exist_ok=True)
    cols = [f"x{j}" for j in range(1, n_features + 1)]
    model = os.path.join(folder, "p200.nll")
    with open(model, "w") as fh:
        fh.write("data y, " + ", ".join(cols) + "\n")
        fh.write("param " + ", ".join(f"b{j}" for j in range(n_features + 1)) + "\n")
        fh.write("y ~ BernoulliLogit(b0 + " + " + ".join(f"b{j} * x{j}" for j in range(1, n_features + 1)) + ")\n")
    csv = os.path.join(folder, "p200.csv")
    with open(csv, "w") as fh:
        fh.write("y," + ",".join(cols) + "\n")
        for _ in range(n_rows):
            fh.write(str(rng.randint(0, 1)) + "," + ",".join(f"{rng.gauss(0, 1):.4f}" for _ in cols) + "\n")
    exe = os.path.join(ROOT, "target", "release", "nll")
    times = []
    for _ in range(reps):
        out = run([exe, "bench", model, "--data", csv, "--threads", "1", "--format", "json"]).stdout
        times.append(json.loads(out.strip().splitlines()[-1])["compile_s"])
    return med(times)


def write_doc(a, n, wls, rows, data, many, peers, versions, fixed):
    L = []
    w = L.append
    w("# Performance")
    w("")
    w("How fast `nll` evaluates, compiles and loads on the benchmark workloads, measured against")
    w("a hand-written fused Rust loop for each workload (`bench/limit-rs`, \"the limit\") and,")
    w("when a Python with JAX is at hand, against JAX in the same run. This file is written by")
    w("`bench/run.py`; rerun it to update the numbers:")
    w("")
    w("    BENCH_PY=/path/to/python-with-numpy-pandas-scipy-and-jax python3 bench/run.py --n 1e6 --rounds 3")
    w("")
    w("## What is measured")
    w("")
    w("- **eval**: one NLL+gradient evaluation at the start values, the median of repeated")
    w("  evaluations (`nll bench`, `eval_s`); the limit's figure is its median over 30 evaluations")
    w("  (`limit-rs eval --math simd`, with vectorised exp/ln, built for the host CPU).")
    w("- **ratio** = nll eval / limit eval, measured back to back in the same round; the table")
    w(f"  shows the median over {a.rounds} rounds. Lower is better; 1.0 is parity.")
    w("- **2T speedup** = nll eval at 1 thread / at 2 threads. Results are bit-identical for any")
    w("  number of threads (fixed blocks, block sums added in block order).")
    w("- **hess/grad** = one NLL+gradient+Hessian evaluation / one NLL+gradient evaluation.")
    w("- **compile**: parse, check, lower, derive gradient and Hessian, build both programs")
    w("  (including data-only columns computed once). **load**: reading the CSV columns;")
    w("  MB/s is the CSV file size over that time, one thread. Each data file is read once")
    w("  right before its timed run, so the load finds it in the page cache (the peers' data")
    w("  is in memory too); the machine evicts files left alone for a while.")
    w("- **fit**: a whole `nll fit` (trust-region Newton with the exact Hessian), its number of")
    w("  evaluations, and the ratio to the limit's L-BFGS fit. The two use different")
    w("  optimizers, so this ratio compares end results, not evaluators.")
    w("- **peak/data**: the process's peak resident memory over the data columns as f64.")
    w("  **fixed MiB**: the peak of the same `nll bench` on the file's first 1000 rows, what")
    w("  the process takes whatever the data (binary, libraries, allocator, threads);")
    w("  **(peak - fixed)/data**: what the data adds, over the data's size. **limit peak/data**:")
    w("  the same for the limit's process (it reads the workload's .npy whole, then copies it")
    w("  into columns, and runs its timings and fits), a baseline for what any process takes.")
    w("")
    w(f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, "
      f"{os.cpu_count()} cores shared with other work, N = {n:g} (rows: N for w1-w5, N/5 for w6, "
      "N/10 for w7, w7t).")
    w("")
    w("## NLL+gradient evaluation")
    w("")
    w("| wl | model | rows | nll eval ms (1T) | limit ms (1T) | ratio 1T | ratio 2T | 2T speedup | hess/grad |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for wl in wls:
        r = rows[wl]
        b1 = r["b1"][-1]
        w(f"| {wl} | {TITLES[wl]} | {b1['n_rows']} | {fmt_ms(med([b['eval_s'] for b in r['b1']]))} "
          f"| {fmt_ms(med([x[0] for x in r['lim1']]))} | {med(r['ratio1']):.2f} | {med(r['ratio2']):.2f} "
          f"| {med(r['speedup']):.2f} | {med(r['hess']):.2f} |")
    w("")
    w("## Compile, load, fit, memory (one thread)")
    w("")
    w("| wl | compile ms | load ms | CSV MB/s | Arrow load ms | Arrow MB/s | fit ms | evals "
      "| fit / limit fit | peak/data | limit peak/data | fixed MiB | (peak - fixed)/data |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for wl in wls:
        r = rows[wl]
        size = os.path.getsize(os.path.join(data, f"{wl}.csv")) / 1e6
        load = med([b["load_s"] for b in r["b1"]])
        peak = med([b["peak_rss_mib"] / b["data_mib"] for b in r["b1"]])
        added = med([(b["peak_rss_mib"] - fixed[wl]) / b["data_mib"] for b in r["b1"]])
        arrow = "| | "
        if r["ba"]:
            arrow_size = os.path.getsize(os.path.join(data, f"{wl}.arrow")) / 1e6
            arrow_load = med([b["load_s"] for b in r["ba"]])
            arrow = f"| {fmt_ms(arrow_load)} | {arrow_size / arrow_load:.0f} "
        w(f"| {wl} | {fmt_ms(med([b['compile_s'] for b in r['b1']]))} | {fmt_ms(load)} | {size / load:.0f} "
          f"{arrow}| {fmt_ms(med([b['fit_s'] for b in r['b1']]))} | {r['b1'][-1]['evals']} "
          f"| {med(r['fit_ratio']):.1f} | {peak:.1f} | {med(r['lim_peak']):.1f} | {fixed[wl]:.1f} | {added:.2f} |")
    w("")
    w(f"A logistic regression with 200 parameters (199 features, 1000 rows; gradient and all")
    w(f"20 100 Hessian entries) compiles in {fmt_ms(many)} ms (median of 5).")
    w("")
    if peers:
        write_peers(w, a, wls, rows, peers, versions)
    else:
        w("## Peers")
        w("")
        w("No peer (JAX, numpy, statsmodels, iminuit) was measured in this run")
        w(f"({versions}; run.py measures them when `BENCH_PY` names a Python that can import jax).")
        w("For orientation only, the shared benchmark's README reports these figures for the fastest")
        w("peer, **measured elsewhere** (another machine of the same kind, one thread, ms); compare")
        w("them with the limit's column above, not with nll's times directly:")
        w("")
        w("| wl | fastest peer | peer eval ms | peer fit ms |")
        w("|---|---|---:|---:|")
        for wl in wls:
            p = PEERS_ELSEWHERE[wl]
            w(f"| {wl} | {p[0]} | {p[1]} | {p[2]} |")
        w("")
    out = os.path.join(ROOT, a.out)
    with open(out, "w") as fh:
        fh.write("\n".join(L))
        fh.write("\n" + NOTES)
    print(f"wrote {a.out}")


def write_peers(w, a, wls, rows, peers, versions):
    names = ", ".join(PEER_TITLES[p] for p in peers)
    w("## Peers, measured in this run")
    w("")
    w(f"{names} timed by `bench/peers.py` (from the shared benchmark harness), at one thread, in")
    w("each round right before the limit and `nll bench` on the same workload; the peers read a")
    w("copy of the same values from .npy files. Versions: "
      + ", ".join(f"{m} {v}" for m, v in sorted(versions.items())) + ".")
    w("")
    w("- **peer eval**: one NLL+gradient evaluation at the true parameters, the median of up to")
    w("  15 evaluations after warm-up (nll's is at the start values; the cost of an evaluation")
    w("  hardly depends on where).")
    w("- **nll / peer eval** = nll eval (1T) / peer eval, measured in the same round; the table")
    w(f"  shows the median over {a.rounds} rounds. The target is nll at least 2x faster than JAX:")
    w("  a ratio of at most 0.5.")
    w("- **peer fit**: the median of up to 3 fits from the fixed start (JAX: scipy's L-BFGS-B on")
    w("  `jit(value_and_grad)`, without standard errors) with the data already in memory and the")
    w("  function already compiled. **peer evals**: the fit's NLL+gradient evaluations.")
    w("- **nll whole fit** = load the CSV + compile + fit in one `nll bench` run at one thread;")
    w("  nll's fit includes the exact Hessian at the optimum and the standard errors.")
    w("  **whole / peer fit** compares it with the peer's fit alone; **fit / peer fit** compares")
    w("  nll's fit alone (with standard errors) with the peer's. **Arrow whole / peer fit**: the")
    w("  same whole fit reading an uncompressed Arrow IPC copy of the data (written with pyarrow")
    w("  when BENCH_PY has it) instead of the CSV.")
    w("- **NLL diff** = nll's minimum NLL minus the peer's (both are the full NLL with every")
    w("  constant); near 0 when both reach the same optimum.")
    w("- One thread: `peers.py --threads 1` sets OMP, OpenBLAS, MKL and numexpr to one thread,")
    w("  XLA_FLAGS to `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` and")
    w("  pins the process to the first CPU; `nll bench --threads 1` runs one worker, not pinned.")
    w("")
    w("| wl | peer | peer eval ms | nll / peer eval | peer fit ms | peer evals | nll whole fit ms "
      "| whole / peer fit | Arrow whole / peer fit | fit / peer fit | NLL diff |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for wl in wls:
        for p in peers:
            pe = rows[wl]["peers"][p]
            if not pe["runs"]:
                w(f"| {wl} | {PEER_TITLES[p]} | failed | | | | | | | | |")
                continue
            prs = [pr for pr, _ in pe["runs"]]
            whole = med([b["load_s"] + b["compile_s"] + b["fit_s"] for _, b in pe["runs"]])
            pr, b1 = pe["runs"][-1]
            arrow_ratio = f"{med(pe['arrow_ratio']):.2f}" if pe["arrow_ratio"] else ""
            w(f"| {wl} | {PEER_TITLES[p]} | {fmt_ms(med([x['eval_s'] for x in prs]))} | {med(pe['eval_ratio']):.2f} "
              f"| {fmt_ms(med([x['fit_s'] for x in prs]))} | {pr['evals_label']} | {fmt_ms(whole)} "
              f"| {med(pe['whole_ratio']):.2f} | {arrow_ratio} "
              f"| {med(pe['fit_ratio']):.2f} | {b1['nll'] - pr['nll']:.2g} |")
    w("")
    done = [wl for wl in wls if "jax" in peers and rows[wl]["peers"]["jax"]["runs"]]
    if done:
        fast = [wl for wl in done if med(rows[wl]["peers"]["jax"]["eval_ratio"]) <= 0.5]
        w(f"nll evaluates at least 2x faster than JAX on {len(fast)} of {len(done)} workloads"
          + (f" ({', '.join(fast)})." if fast else "."))
        jit = [pr["compile_s"] for wl in done for pr, _ in rows[wl]["peers"]["jax"]["runs"] if pr.get("compile_s")]
        if jit:
            w(f"JAX's jit compilation, left out of its fit times, took {fmt_ms(min(jit))} to {fmt_ms(max(jit))} ms")
            w("per workload.")
        w("")
    both = [wl for wl in wls if rows[wl]["both"]]
    if both:
        w("### Both on both cores")
        w("")
        w("JAX's fit with two threads (`peers.py --threads 2`: XLA's default thread pool, the")
        w("process pinned to the first two CPUs) against nll's whole fit (load, compile, fit,")
        w("standard errors) with `nll bench --threads 2`, in the same round; medians over rounds.")
        w("")
        w("| wl | JAX fit ms (2T) | nll whole fit ms, CSV (2T) | whole / JAX fit | nll whole fit ms, Arrow (2T) | Arrow whole / JAX fit |")
        w("|---|---:|---:|---:|---:|---:|")
        whole = lambda b: b["load_s"] + b["compile_s"] + b["fit_s"]
        for wl in both:
            runs = rows[wl]["both"]
            jfit = med([pj["fit_s"] for pj, _, _ in runs])
            csv2 = med([whole(b2) for _, b2, _ in runs])
            csv_ratio = med([whole(b2) / pj["fit_s"] for pj, b2, _ in runs])
            arrow_runs = [(pj, ba2) for pj, _, ba2 in runs if ba2 is not None]
            arrow_cells = "| |"
            if arrow_runs:
                arrow_cells = (f"| {fmt_ms(med([whole(b) for _, b in arrow_runs]))} "
                               f"| {med([whole(b) / pj['fit_s'] for pj, b in arrow_runs]):.2f} |")
            w(f"| {wl} | {fmt_ms(jfit)} | {fmt_ms(csv2)} | {csv_ratio:.2f} {arrow_cells}")
        w("")
    failed = [f"{PEER_TITLES[p]} on {wl}" for wl in wls for p in peers
              if 0 < len(rows[wl]["peers"][p]["runs"]) < a.rounds]
    if failed:
        w(f"Failed in some rounds (the figures above are from the others): {', '.join(failed)}.")
        w("")


# The hand-written part of the document, kept below the generated tables.
NOTES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "performance_notes.md")
NOTES = open(NOTES_PATH).read() if os.path.exists(NOTES_PATH) else ""

if __name__ == "__main__":
    main()
