#!/usr/bin/env python3
"""Deterministic synthetic data for the benchmark workloads.

Copied unchanged from the team's shared benchmark harness (shared/bench/).

    python bench/gen_data.py [--n 1000000] [--out DIR] [--workloads w1,w3]

DIR defaults to bench/data/n<N> (bench/data is ignored by git).
For each workload writes  DIR/<wl>.csv  (header, continuous columns with 6
decimals, integer columns as integers), OUT/<wl>.npy (float64, shape
rows x columns, Fortran order so each column is contiguous) and
OUT/<wl>.json (columns, parameter names, truth, start, rows, seed).
The .npy holds exactly the values a correctly rounded parser reads from the
CSV, so a tool fed the CSV sees the same data as the peers fed the .npy.

Rows: N for w1-w5, N/5 for w6, N/10 for w7 and w7t.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import INT_COLUMNS, ORDER, SEED, WORKLOADS, rows_for  # noqa: E402


def write_csv(path, cols, arrays, int_cols):
    import pandas as pd

    df = pd.DataFrame({c: (arrays[c].astype(np.int64) if c in int_cols else arrays[c]) for c in cols})
    df.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e6, help="base row count N (default 1e6)")
    ap.add_argument("--out", default=None, help="output folder (default bench/data/n<N>)")
    ap.add_argument("--workloads", default=",".join(ORDER))
    ap.add_argument("--no-csv", action="store_true", help="write only .npy/.json")
    a = ap.parse_args()
    n = int(a.n)
    if a.out is None:
        a.out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", f"n{n}")
    os.makedirs(a.out, exist_ok=True)
    for i, wl in enumerate(ORDER):
        if wl not in a.workloads.split(","):
            continue
        spec = WORKLOADS[wl]
        rows = rows_for(wl, n)
        t0 = time.perf_counter()
        rng = np.random.default_rng(SEED + 1000 * (i + 1))
        d = spec["gen"](rng, rows)
        int_cols = INT_COLUMNS.get(wl, [])
        # quantise continuous columns to 6 decimals: the CSV then round-trips exactly
        for c in spec["columns"]:
            d[c] = d[c].astype(np.float64) if c in int_cols else np.round(d[c].astype(np.float64), 6)
        arr = np.asfortranarray(np.column_stack([d[c] for c in spec["columns"]]))
        np.save(os.path.join(a.out, f"{wl}.npy"), arr)
        if not a.no_csv:
            write_csv(os.path.join(a.out, f"{wl}.csv"), spec["columns"], d, int_cols)
            # spot-check the round trip on the first rows
            with open(os.path.join(a.out, f"{wl}.csv")) as fh:
                hdr = fh.readline().strip().split(",")
                assert hdr == spec["columns"], hdr
                for k in range(min(rows, 2000)):
                    vals = [float(v) for v in fh.readline().split(",")]
                    assert vals == list(arr[k]), (wl, k, vals, list(arr[k]))
        meta = {
            "workload": wl,
            "title": spec["title"],
            "rows": rows,
            "n_base": n,
            "columns": spec["columns"],
            "params": spec["params"],
            "truth": [float(v) for v in spec["truth"]],
            "start": spec["start"],
            "seed": SEED + 1000 * (i + 1),
        }
        with open(os.path.join(a.out, f"{wl}.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        print(f"{wl}: {rows} rows x {len(spec['columns'])} cols  ({time.perf_counter() - t0:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
