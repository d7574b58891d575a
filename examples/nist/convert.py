#!/usr/bin/env python3
"""Convert the NIST StRD regression files into nll models and CSV data.

Reads index.json and the 38 original .dat files of the NIST Statistical
Reference Datasets (27 nonlinear and 11 linear least-squares problems) and
writes, next to this script, for every problem NAME:

  NAME.csv   the data block, with NIST's column names as the header and every
             number copied as the text it has in the file (no re-formatting);
  NAME.nll   the model as NIST states it, as a Gaussian likelihood with a
             constant sigma, the NIST start 1 as the parameters' start values,
             and the NIST header (lines 1 to 60 of the file) in comments;

and starts.json, {NAME: {"start1": {...}, "start2": {...}}} for the
nonlinear problems (start 2 is given on the command line with --start), and
certified.json, a list in NIST's order of every problem's name, procedure,
difficulty, number of observations, parameter names, certified values,
certified standard deviations and certified residual sum of squares, which
the accuracy program and the tests read.

Usage (Python 3 standard library only), from the repository root:

  python3 examples/nist/convert.py [DIRECTORY_WITH_index.json]

The directory defaults to /work/shared/data/nist. The script checks, for
every file, that the data block has the number of rows and columns the index
states and that every start and certified value in the index equals the
number printed in the file; it stops with an error otherwise.
"""

import json
import math
import os
import re
import sys

OUT = os.path.dirname(os.path.abspath(__file__))


def read_lines(path):
    """The file's lines without line endings or trailing spaces."""
    with open(path, "rb") as f:
        text = f.read().decode("ascii")
    return [line.rstrip() for line in text.split("\n")]


def data_rows(lines, entry):
    """The data block as rows of the numbers' original text."""
    first, last = entry["data_lines"]
    rows = [lines[i - 1].split() for i in range(first, last + 1)]
    ncol = len(entry["columns"])
    if len(rows) != entry["n_observations"]:
        sys.exit(f"{entry['name']}: {len(rows)} data rows, expected {entry['n_observations']}")
    for i, row in enumerate(rows):
        if len(row) != ncol:
            sys.exit(f"{entry['name']}: data line {first + i} has {len(row)} fields, expected {ncol}")
        for cell in row:
            float(cell)  # every cell is a number
    header = lines[first - 2].split()
    if header[0] != "Data:" or header[1:] != entry["columns"]:
        sys.exit(f"{entry['name']}: column line {header} does not match {entry['columns']}")
    return rows


def start_texts(lines, entry):
    """NIST's start 1 and start 2 as written, {param: text}, checked
    against the index."""
    first, _ = entry["certified_lines"]
    starts = ({}, {})
    for name in entry["parameters"]:
        pattern = re.compile(r"^\s*" + re.escape(name) + r"\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
        found = [m for m in (pattern.match(line) for line in lines[first - 1:first + 20]) if m]
        if len(found) != 1:
            sys.exit(f"{entry['name']}: cannot find the start line of {name}")
        s1, s2, cert, _sd = found[0].groups()
        k = entry["parameters"].index(name)
        for text, value in ((s1, entry["start1"][k]), (s2, entry["start2"][k]), (cert, entry["certified_values"][k])):
            if float(text) != value:
                sys.exit(f"{entry['name']}: {name}: file has {text}, index has {value}")
        starts[0][name] = s1
        starts[1][name] = s2
    return starts


def check_linear_certified(lines, entry):
    """Every certified linear estimate in the index equals the file's text."""
    for k, name in enumerate(entry["parameters"]):
        pattern = re.compile(r"^\s*" + re.escape(name) + r"\s+(\S+)\s+(\S+)\s*$")
        found = [m for m in (pattern.match(line) for line in lines[:60]) if m]
        if len(found) != 1 or float(found[0].group(1)) != entry["certified_values"][k]:
            sys.exit(f"{entry['name']}: certified {name} does not match the file")


def to_nll_expression(expr):
    """NIST's (normalised) expression in the nll language: `**` is `^`,
    arctan is `atan`; everything else, including spacing, is kept."""
    if "[" in expr or "]" in expr:
        sys.exit(f"unexpected bracket in {expr}")
    return expr.replace("**", "^").replace("arctan", "atan")


def sigma_start(rows, entry):
    """The start value of sigma: the root mean square of the response (of
    log(y) for Nelson), rounded to 4 significant digits. It is the residual
    scale of the model that predicts 0 everywhere, so it is of the size of
    the data, positive whenever the data are not all zero, and independent
    of the start vector; the first NLL evaluation is finite whenever the mean
    is, from either start."""
    y = [float(r[0]) for r in rows]
    if entry["response_expression"] == "log(y)":
        y = [math.log(v) for v in y]
    elif entry["response_expression"] != "y":
        sys.exit(f"{entry['name']}: unknown response {entry['response_expression']}")
    rms = math.sqrt(sum(v * v for v in y) / len(y))
    return f"{rms:.4g}"


def header_comment(lines, entry):
    """Lines 1 to 60 of the file (the NIST header up to the column line), as
    comments, trailing blank lines dropped."""
    head = lines[: entry["data_lines"][0] - 1]
    while head and not head[-1]:
        head.pop()
    return ["#" if not line else "#   " + line for line in head]


def write_nll(entry, lines, rows, starts):
    name = entry["name"]
    kind = "nonlinear" if entry["procedure"] == "nonlinear" else "linear"
    params = entry["parameters"]
    sig = sigma_start(rows, entry)
    out = []
    out.append(f"# NIST StRD {name}: {kind} least-squares regression, {entry['difficulty']} level of difficulty.")
    out.append("#")
    out.append("# Source: NIST Statistical Reference Datasets (StRD), Information Technology")
    out.append(f"# Laboratory, Statistical Engineering Division; file {entry['file']}. A work of")
    out.append("# the US Government, in the public domain. Converted by examples/nist/convert.py;")
    out.append(f"# the data are in {name}.csv.")
    out.append("#")
    out.append("# NIST's model:")
    for m in entry["model_lines"]:
        out.append(f"#   {m}")
    out.append("# Least squares is maximum likelihood with Gaussian errors of constant sigma:")
    out.append("# the MLE of the coefficients is NIST's certified vector, and sigma's MLE is")
    out.append("# sqrt(RSS/n), not NIST's residual standard deviation sqrt(RSS/(n-p)).")
    out.append("#")
    if kind == "nonlinear":
        s2 = " ".join(f"--start {p}={starts[1][p]}" for p in params)
        out.append("# The start values below are NIST's start 1. Start 1:")
        out.append(f"#   nll fit examples/nist/{name}.nll --data examples/nist/{name}.csv")
        out.append("# Start 2 (also in starts.json):")
        out.append(f"#   nll fit examples/nist/{name}.nll --data examples/nist/{name}.csv {s2}")
    else:
        out.append("# The model is linear in its coefficients, so they start at 0:")
        out.append(f"#   nll fit examples/nist/{name}.nll --data examples/nist/{name}.csv")
    out.append("# sigma starts at the root mean square of the response" +
               (" log(y)" if entry["response_expression"] == "log(y)" else "") +
               f", {sig}: the data's scale,")
    out.append("# whatever the start vector.")
    out.append("#")
    out.append("# Certified values (NIST):")
    for k, p in enumerate(params):
        out.append(f"#   {p} = {entry['certified_values'][k]!r}  (standard deviation {entry['certified_std_devs'][k]!r})")
    out.append(f"#   residual sum of squares = {entry['residual_sum_of_squares']!r}")
    out.append("#")
    out.append(f"# The NIST header, lines 1 to {entry['data_lines'][0] - 1} of {os.path.basename(entry['file'])} as written:")
    out.append("#")
    out.extend(header_comment(lines, entry))
    out.append("")
    out.append("data " + ", ".join(entry["columns"]))
    if kind == "nonlinear":
        for p in params:
            out.append(f"param {p} = {starts[0][p]}")
    else:
        for p in params:
            out.append(f"param {p} = 0")
    out.append(f"param sigma > 0 = {sig}")
    out.append("")
    lhs = entry["response_expression"]
    out.append(f"{lhs} ~ Normal({to_nll_expression(entry['expression'])}, sigma)")
    with open(os.path.join(OUT, f"{name}.nll"), "w", newline="\n") as f:
        f.write("\n".join(out) + "\n")


def write_csv(entry, rows):
    with open(os.path.join(OUT, f"{entry['name']}.csv"), "w", newline="\n") as f:
        f.write(",".join(entry["columns"]) + "\n")
        for row in rows:
            f.write(",".join(row) + "\n")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/nist"
    with open(os.path.join(src, "index.json")) as f:
        index = json.load(f)
    all_starts = {}
    certified = []
    for entry in index["datasets"]:
        lines = read_lines(os.path.join(src, entry["file"]))
        rows = data_rows(lines, entry)
        if entry["procedure"] == "nonlinear":
            starts = start_texts(lines, entry)
            all_starts[entry["name"]] = {
                "start1": {p: float(v) for p, v in starts[0].items()},
                "start2": {p: float(v) for p, v in starts[1].items()},
            }
        else:
            check_linear_certified(lines, entry)
            starts = None
        certified.append({
            "name": entry["name"],
            "procedure": entry["procedure"],
            "difficulty": entry["difficulty"],
            "n": entry["n_observations"],
            "parameters": entry["parameters"],
            "certified_values": entry["certified_values"],
            "certified_std_devs": entry["certified_std_devs"],
            "residual_sum_of_squares": entry["residual_sum_of_squares"],
        })
        write_csv(entry, rows)
        write_nll(entry, lines, rows, starts)
    with open(os.path.join(OUT, "starts.json"), "w", newline="\n") as f:
        json.dump(all_starts, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "certified.json"), "w", newline="\n") as f:
        json.dump(certified, f, indent=1)
        f.write("\n")
    print(f"wrote {len(index['datasets'])} problems to {OUT}")


if __name__ == "__main__":
    main()
