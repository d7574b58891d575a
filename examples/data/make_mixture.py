#!/usr/bin/env python3
"""Writes examples/data/mixture.csv: 500 draws from a two-component Gaussian
mixture, 40% N(1.5, 0.5^2) and 60% N(4.5, 0.8^2), with a fixed seed so the
file is reproducible. Python's own random module, no dependencies."""
import random

random.seed(20261204)
with open("mixture.csv", "w") as f:
    f.write("y\n")
    for _ in range(500):
        if random.random() < 0.4:
            f.write(f"{random.gauss(1.5, 0.5)!r}\n")
        else:
            f.write(f"{random.gauss(4.5, 0.8)!r}\n")
