"""Workload definitions shared by the data generator and the peer harness.

Copied unchanged from the team's shared benchmark harness (shared/bench/).

Each workload has: the data columns (CSV header order), the parameter names
(in the order every peer and limit-rs uses), the true parameters used to
generate the data, the fixed default start point, a size factor (rows =
factor * N), and a generator.

Conventions (all peers and limit-rs follow them, so final NLLs agree):
  * the NLL is the full negative log-likelihood summed over rows, with all
    constants (0.5*log(2*pi), log(y!), the Student-t normaliser);
  * data-only terms (sum of log(y!) for Poisson) are computed once at load;
  * scales are parametrised by their logarithm, mixture weight by its logit;
  * softmax regression uses class 0 as reference (its coefficients are 0),
    parameters ordered class-major: b[k,0] (intercept), b[k,1..D] for k=1..K-1.
"""

import math

import numpy as np

LOG2PI = math.log(2.0 * math.pi)
T_NU = 4.0
# Student-t normaliser for nu = 4:  -lgamma((nu+1)/2) + lgamma(nu/2) + 0.5*log(nu*pi)
T_CONST = -math.lgamma((T_NU + 1) / 2) + math.lgamma(T_NU / 2) + 0.5 * math.log(T_NU * math.pi)

SEED = 20261204


def _round(a, d=6):
    return np.round(a, d)


# ---------------------------------------------------------------- generators
def gen_w1(rng, n):
    x = rng.uniform(-3, 3, n)
    y = 1.5 + 2.0 * x + rng.normal(0, 0.7, n)
    return {"x": x, "y": y}


def gen_w2(rng, n):
    x = rng.uniform(-3, 3, n)
    y = 0.5 - 1.0 * x + np.exp(-0.3 + 0.4 * x) * rng.normal(0, 1, n)
    return {"x": x, "y": y}


def w3_truth():
    r = np.random.default_rng(SEED + 103)
    return np.concatenate([[-0.5], np.round(r.normal(0, 0.5, 10), 3)])


def gen_w3(rng, n):
    beta = w3_truth()
    X = rng.normal(0, 1, (n, 10))
    eta = beta[0] + X @ beta[1:]
    y = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    d = {f"x{j + 1}": X[:, j] for j in range(10)}
    d["y"] = y
    return d


def w4_truth():
    r = np.random.default_rng(SEED + 104)
    return np.concatenate([[0.3], np.round(r.uniform(-1, 1, 5), 3)])


def gen_w4(rng, n):
    beta = w4_truth()
    X = rng.normal(0, 0.5, (n, 5))
    y = rng.poisson(np.exp(beta[0] + X @ beta[1:]))
    d = {f"x{j + 1}": X[:, j] for j in range(5)}
    d["y"] = y.astype(np.int64)
    return d


def gen_w5(rng, n):
    comp1 = rng.uniform(0, 1, n) < 0.3
    x = np.where(comp1, rng.normal(-1.0, 0.5, n), rng.normal(2.0, 1.0, n))
    return {"x": x}


W6_K, W6_D = 5, 10


def w6_truth():
    r = np.random.default_rng(SEED + 106)
    return np.round(r.normal(0, 0.5, (W6_K - 1) * (W6_D + 1)), 3)


def gen_w6(rng, n):
    B = w6_truth().reshape(W6_K - 1, W6_D + 1)
    X = rng.normal(0, 1, (n, W6_D))
    eta = np.concatenate([np.zeros((n, 1)), B[:, 0] + X @ B[:, 1:].T], axis=1)
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.uniform(0, 1, (n, 1))
    y = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), W6_K - 1)
    d = {f"x{j + 1}": X[:, j] for j in range(W6_D)}
    d["y"] = y.astype(np.int64)
    return d


def gen_w7(rng, n):
    x = rng.uniform(0, 10, n)
    y = 5.0 * (1 - np.exp(-0.3 * x)) + rng.normal(0, 0.25, n)
    return {"x": x, "y": y}


def gen_w7t(rng, n):
    x = rng.uniform(0, 10, n)
    y = 5.0 * (1 - np.exp(-0.3 * x)) + 0.25 * rng.standard_t(T_NU, n)
    return {"x": x, "y": y}


WORKLOADS = {
    "w1": dict(
        title="linear Gaussian regression",
        columns=["x", "y"],
        params=["a", "b", "log_sigma"],
        truth=[1.5, 2.0, math.log(0.7)],
        start=[0.0, 0.0, 0.0],
        factor=1.0,
        gen=gen_w1,
    ),
    "w2": dict(
        title="heteroscedastic Gaussian",
        columns=["x", "y"],
        params=["a", "b", "c", "d"],
        truth=[0.5, -1.0, -0.3, 0.4],
        start=[0.0, 0.0, 0.0, 0.0],
        factor=1.0,
        gen=gen_w2,
    ),
    "w3": dict(
        title="logistic regression (10 features)",
        columns=[f"x{j + 1}" for j in range(10)] + ["y"],
        params=["b0"] + [f"b{j + 1}" for j in range(10)],
        truth=list(w3_truth()),
        start=[0.0] * 11,
        factor=1.0,
        gen=gen_w3,
    ),
    "w4": dict(
        title="Poisson regression (5 features, log link)",
        columns=[f"x{j + 1}" for j in range(5)] + ["y"],
        params=["b0"] + [f"b{j + 1}" for j in range(5)],
        truth=list(w4_truth()),
        start=[0.0] * 6,
        factor=1.0,
        gen=gen_w4,
    ),
    "w5": dict(
        title="2-component Gaussian mixture",
        columns=["x"],
        params=["logit_w", "mu1", "mu2", "log_s1", "log_s2"],
        truth=[math.log(0.3 / 0.7), -1.0, 2.0, math.log(0.5), 0.0],
        # means must differ at the start, else the fit stays on the symmetric ridge
        start=[0.0, -0.5, 0.5, 0.0, 0.0],
        factor=1.0,
        gen=gen_w5,
    ),
    "w6": dict(
        title="softmax regression (K=5, D=10)",
        columns=[f"x{j + 1}" for j in range(W6_D)] + ["y"],
        params=[f"b{k}_{j}" for k in range(1, W6_K) for j in range(W6_D + 1)],
        truth=list(w6_truth()),
        start=[0.0] * ((W6_K - 1) * (W6_D + 1)),
        factor=0.2,
        gen=gen_w6,
    ),
    "w7": dict(
        title="exponential-rise NLS, Gaussian (NIST Misra1a-like)",
        columns=["x", "y"],
        params=["b1", "b2", "log_sigma"],
        truth=[5.0, 0.3, math.log(0.25)],
        start=[1.0, 0.1, 0.0],
        factor=0.1,
        gen=gen_w7,
    ),
    "w7t": dict(
        title="exponential-rise NLS, Student-t(nu=4)",
        columns=["x", "y"],
        params=["b1", "b2", "log_s"],
        truth=[5.0, 0.3, math.log(0.25)],
        start=[1.0, 0.1, 0.0],
        factor=0.1,
        gen=gen_w7t,
    ),
}

ORDER = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w7t"]

# columns written as integers in the CSV
INT_COLUMNS = {"w3": ["y"], "w4": ["y"], "w6": ["y"]}


def rows_for(wl, n):
    return max(10, int(round(WORKLOADS[wl]["factor"] * n)))


def load(data_dir, wl):
    """Load a workload's .npy (column-major, N x C float64) as a dict of columns."""
    arr = np.load(f"{data_dir}/{wl}.npy")
    cols = WORKLOADS[wl]["columns"]
    assert arr.shape[1] == len(cols), (arr.shape, cols)
    return {c: np.ascontiguousarray(arr[:, j]) for j, c in enumerate(cols)}


def design(data, wl):
    """Feature matrix (N x D, C order) for the regression workloads."""
    cols = [c for c in WORKLOADS[wl]["columns"] if c.startswith("x")]
    return np.column_stack([data[c] for c in cols])


# ------------------------------------------------- numpy NLL + analytic grad
def _softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


class NumpyNLL:
    """Vectorised numpy NLL with analytic gradient; theta -> (f, g)."""

    def __init__(self, wl, data):
        self.wl = wl
        self.d = data
        if wl in ("w3", "w4", "w6"):
            self.X = design(data, wl)
            self.y = data["y"]
        if wl == "w4":
            from scipy.special import gammaln

            self.const = float(np.sum(gammaln(self.y + 1)))
        if wl == "w6":
            self.Y = np.zeros((len(self.y), W6_K))
            self.Y[np.arange(len(self.y)), self.y.astype(np.int64)] = 1.0
        self.n = len(next(iter(data.values())))

    def __call__(self, th):
        return getattr(self, "_" + self.wl)(np.asarray(th, dtype=np.float64))

    def _w1(self, th):
        a, b, ls = th
        x, y = self.d["x"], self.d["y"]
        r = y - a - b * x
        s2 = np.exp(-2 * ls)
        rr = r @ r
        f = self.n * (0.5 * LOG2PI + ls) + 0.5 * s2 * rr
        g = np.array([-s2 * r.sum(), -s2 * (r @ x), self.n - s2 * rr])
        return f, g

    def _w2(self, th):
        a, b, c, d = th
        x, y = self.d["x"], self.d["y"]
        eta = c + d * x
        w = np.exp(-2 * eta)
        r = y - a - b * x
        rw = r * w
        q = r * rw
        f = 0.5 * LOG2PI * self.n + eta.sum() + 0.5 * q.sum()
        h = 1.0 - q
        g = np.array([-rw.sum(), -(rw @ x), h.sum(), h @ x])
        return f, g

    def _w3(self, th):
        eta = th[0] + self.X @ th[1:]
        f = _softplus(eta).sum() - self.y @ eta
        e = 1 / (1 + np.exp(-eta)) - self.y
        g = np.concatenate([[e.sum()], e @ self.X])
        return f, g

    def _w4(self, th):
        eta = th[0] + self.X @ th[1:]
        lam = np.exp(eta)
        f = lam.sum() - self.y @ eta + self.const
        e = lam - self.y
        g = np.concatenate([[e.sum()], e @ self.X])
        return f, g

    def _w5(self, th):
        lw, m1, m2, l1, l2 = th
        x = self.d["x"]
        pi = 1 / (1 + math.exp(-lw))
        z1 = (x - m1) * math.exp(-l1)
        z2 = (x - m2) * math.exp(-l2)
        a1 = math.log(pi) - l1 - 0.5 * z1 * z1
        a2 = math.log1p(-pi) - l2 - 0.5 * z2 * z2
        m = np.maximum(a1, a2)
        e1 = np.exp(a1 - m)
        e2 = np.exp(a2 - m)
        s = e1 + e2
        f = self.n * 0.5 * LOG2PI - (m + np.log(s)).sum()
        r1 = e1 / s
        r2 = 1 - r1
        g = np.array([
            -(r1.sum() - self.n * pi),
            -(r1 @ z1) * math.exp(-l1),
            -(r2 @ z2) * math.exp(-l2),
            -(r1 @ (z1 * z1 - 1)),
            -(r2 @ (z2 * z2 - 1)),
        ])
        return f, g

    def _w6(self, th):
        B = th.reshape(W6_K - 1, W6_D + 1)
        eta = self.X @ B[:, 1:].T + B[:, 0]  # N x (K-1)
        m = np.maximum(eta.max(axis=1), 0.0)
        e = np.exp(eta - m[:, None])
        s = np.exp(-m) + e.sum(axis=1)
        lse = m + np.log(s)
        yi = self.y.astype(np.int64)
        eta_y = np.where(yi > 0, eta[np.arange(self.n), np.maximum(yi - 1, 0)], 0.0)
        f = lse.sum() - eta_y.sum()
        R = e / s[:, None] - self.Y[:, 1:]  # N x (K-1)
        G = np.empty((W6_K - 1, W6_D + 1))
        G[:, 0] = R.sum(axis=0)
        G[:, 1:] = R.T @ self.X
        return f, G.ravel()

    def _w7(self, th):
        b1, b2, ls = th
        x, y = self.d["x"], self.d["y"]
        e = np.exp(-b2 * x)
        r = y - b1 * (1 - e)
        s2 = math.exp(-2 * ls)
        rr = r @ r
        f = self.n * (0.5 * LOG2PI + ls) + 0.5 * s2 * rr
        g = np.array([-s2 * (r.sum() - r @ e), -s2 * b1 * (r @ (x * e)), self.n - s2 * rr])
        return f, g

    def _w7t(self, th):
        b1, b2, ls = th
        x, y = self.d["x"], self.d["y"]
        e = np.exp(-b2 * x)
        r = y - b1 * (1 - e)
        nu = T_NU
        vs2 = nu * math.exp(2 * ls)
        den = vs2 + r * r
        f = self.n * (T_CONST + ls) + 0.5 * (nu + 1) * np.log1p(r * r / vs2).sum()
        w = (nu + 1) * r / den  # = -dNLL/dmu
        g = np.array([-(w.sum() - w @ e), -b1 * (w @ (x * e)), self.n - (w @ r)])
        return f, g
