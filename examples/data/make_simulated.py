"""Write the simulated data sets used by some examples.

Run from the repository root:

    python3 examples/data/make_simulated.py

It uses only the Python standard library (random.Random with a fixed seed),
so the files come out the same on every run with the same Python version
(written and checked with Python 3.11). The true parameter values are listed
below; each example's fit should recover them within its standard errors.
"""

import math
import random

SEED = 20240611


def logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


def proportions(rng, path, n=300):
    """Beta regression: y in (0, 1) with mean logistic(b0 + b1 x) and
    precision phi, that is y ~ Beta(mu phi, (1 - mu) phi).
    True values: b0 = -0.5, b1 = 1.2, phi = 25."""
    b0, b1, phi = -0.5, 1.2, 25.0
    with open(path, "w") as f:
        f.write("x,y\n")
        for _ in range(n):
            x = rng.uniform(-2.0, 2.0)
            mu = logistic(b0 + b1 * x)
            y = rng.betavariate(mu * phi, (1.0 - mu) * phi)
            # Nine significant digits keep y strictly inside (0, 1).
            f.write(f"{x:.6f},{y:.9g}\n")


def survival(rng, path, n=250):
    """Weibull survival times, every event observed (no censoring):
    time ~ Weibull(shape k, scale exp(c0 + c_treated treated + c_age age)),
    with age standardised. True values: k = 1.6, c0 = 2.0,
    c_treated = 0.5, c_age = -0.3."""
    k, c0, c_treated, c_age = 1.6, 2.0, 0.5, -0.3
    with open(path, "w") as f:
        f.write("time,treated,age\n")
        for i in range(n):
            treated = i % 2
            age = rng.gauss(0.0, 1.0)
            scale = math.exp(c0 + c_treated * treated + c_age * age)
            # random.weibullvariate(alpha, beta) has scale alpha, shape beta.
            t = rng.weibullvariate(scale, k)
            f.write(f"{t:.6g},{treated},{age:.4f}\n")


def main():
    rng = random.Random(SEED)
    proportions(rng, "examples/data/proportions.csv")
    survival(rng, "examples/data/survival.csv")


if __name__ == "__main__":
    main()
