# copied from the shared benchmark harness (../shared/bench/peers.py); unchanged but for this line (was "#!/usr/bin/env python3")
"""Time one peer on one workload and append a JSON line with the results.

    python bench/peers.py --peer jax --workload w3 [--threads 1] [--data bench/data/n1000000]
                          [--eval-reps 15] [--fit-reps 3] [--out results.jsonl]

Peers:
  numpy        vectorised numpy NLL + analytic gradient, scipy L-BFGS-B
  statsmodels  OLS / Logit / GLM-Poisson / MNLogit, or GenericLikelihoodModel
               (analytic score, L-BFGS) for w2, w5, w7, w7t
  jax          jax.jit(jax.value_and_grad(nll)), scipy L-BFGS-B (float64)
  jax-optax    the same NLL, optax.lbfgs (zoom line search) in a jitted while_loop
  iminuit      iminuit MIGRAD (strategy 1, the default), JAX value and gradient
  iminuit-s0   the same with strategy 0 (fewer numerical second derivatives)

Measured: (a) median wall time of one NLL+gradient evaluation at the true
parameters after warm-up; (b) median wall time of a whole fit from the
fixed start; (c) function (value+gradient) evaluations of that fit;
(d) final NLL and parameter estimates.

Threads: --threads sets the CPU affinity of the process and the thread
counts of OpenMP/OpenBLAS/MKL (and of XLA when 1) before anything is imported.
"""

import argparse
import json
import math
import os
import sys
import time

PEERS = ["numpy", "statsmodels", "jax", "jax-optax", "iminuit", "iminuit-s0"]

# common convergence target (see README): relative NLL decrease per iteration
# below FTOL, or max |gradient| below GTOL (gradient of the summed NLL)
FTOL = 1e-12
GTOL = 1e-5
MAXITER = 2000


def setup_threads(n):
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[v] = str(n)
    if n == 1:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cpus[:n]))
    except (AttributeError, OSError):
        pass


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def time_eval(fn, th, reps, budget_s=4.0):
    for _ in range(2):
        fn(th)
    ts = []
    t_start = time.perf_counter()
    while len(ts) < reps and (len(ts) < 5 or time.perf_counter() - t_start < budget_s):
        t0 = time.perf_counter()
        fn(th)
        ts.append(time.perf_counter() - t0)
    return median(ts), min(ts), len(ts)


def time_fit(fit, reps, budget_s=40.0):
    ts, out = [], None
    t_start = time.perf_counter()
    first = None
    while len(ts) < reps and (len(ts) < 1 or time.perf_counter() - t_start < budget_s):
        t0 = time.perf_counter()
        out = fit()
        dt = time.perf_counter() - t0
        if first is None:
            first = dt
        ts.append(dt)
    return median(ts), ts, first, out


# ------------------------------------------------------------------ peers
def counting(vg):
    cnt = [0]

    def f(th):
        cnt[0] += 1
        return vg(th)

    return f, cnt


def scipy_lbfgs(vg, x0):
    from scipy.optimize import minimize  # imported (and warmed) in main()

    f, cnt = counting(vg)
    r = minimize(f, x0, jac=True, method="L-BFGS-B", options=dict(ftol=FTOL, gtol=GTOL, maxiter=MAXITER, maxfun=10 * MAXITER))
    return dict(params=list(map(float, r.x)), nll=float(r.fun), evals=cnt[0], iters=int(r.nit), converged=bool(r.success),
                msg=str(r.message), evals_label=str(cnt[0]))


def peer_numpy(wl, data, spec):
    import numpy as np
    from workloads import NumpyNLL

    nll = NumpyNLL(wl, data)
    x0 = np.array(spec["start"], dtype=float)
    return dict(eval=nll, fit=lambda: scipy_lbfgs(nll, x0), method="scipy L-BFGS-B")


def jax_nll_builder(wl, data):
    """Return (nll(theta, *args), args) with data passed as jit arguments."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from workloads import LOG2PI, T_CONST, T_NU, W6_D, W6_K, design

    n = len(next(iter(data.values())))
    if wl in ("w1", "w2", "w5", "w7", "w7t"):
        args = tuple(jnp.asarray(data[c]) for c in (["x"] if wl == "w5" else ["x", "y"]))
    else:
        X = jnp.asarray(design(data, wl))
        y = jnp.asarray(data["y"])
        args = (X, y)

    if wl == "w1":
        def nll(th, x, y):
            r = y - th[0] - th[1] * x
            return n * (0.5 * LOG2PI + th[2]) + 0.5 * jnp.exp(-2 * th[2]) * jnp.sum(r * r)
    elif wl == "w2":
        def nll(th, x, y):
            eta = th[2] + th[3] * x
            r = y - th[0] - th[1] * x
            return 0.5 * LOG2PI * n + jnp.sum(eta + 0.5 * r * r * jnp.exp(-2 * eta))
    elif wl == "w3":
        def nll(th, X, y):
            eta = th[0] + X @ th[1:]
            return jnp.sum(jax.nn.softplus(eta)) - jnp.dot(y, eta)
    elif wl == "w4":
        from scipy.special import gammaln

        const = float(np.sum(gammaln(data["y"] + 1)))

        def nll(th, X, y):
            eta = th[0] + X @ th[1:]
            return jnp.sum(jnp.exp(eta)) - jnp.dot(y, eta) + const
    elif wl == "w5":
        def nll(th, x):
            lw, m1, m2, l1, l2 = th[0], th[1], th[2], th[3], th[4]
            z1 = (x - m1) * jnp.exp(-l1)
            z2 = (x - m2) * jnp.exp(-l2)
            a1 = jax.nn.log_sigmoid(lw) - l1 - 0.5 * z1 * z1
            a2 = jax.nn.log_sigmoid(-lw) - l2 - 0.5 * z2 * z2
            return 0.5 * LOG2PI * n - jnp.sum(jnp.logaddexp(a1, a2))
    elif wl == "w6":
        yi = jnp.asarray(data["y"].astype(np.int32))
        args = (X, yi)

        def nll(th, X, yi):
            B = th.reshape(W6_K - 1, W6_D + 1)
            eta = X @ B[:, 1:].T + B[:, 0]
            full = jnp.concatenate([jnp.zeros((eta.shape[0], 1), eta.dtype), eta], axis=1)
            lse = jax.nn.logsumexp(full, axis=1)
            return jnp.sum(lse) - jnp.sum(jnp.take_along_axis(full, yi[:, None], axis=1))
    elif wl == "w7":
        def nll(th, x, y):
            r = y - th[0] * (1 - jnp.exp(-th[1] * x))
            return n * (0.5 * LOG2PI + th[2]) + 0.5 * jnp.exp(-2 * th[2]) * jnp.sum(r * r)
    elif wl == "w7t":
        def nll(th, x, y):
            r = y - th[0] * (1 - jnp.exp(-th[1] * x))
            return n * (T_CONST + th[2]) + 0.5 * (T_NU + 1) * jnp.sum(jnp.log1p(r * r / (T_NU * jnp.exp(2 * th[2]))))
    else:
        raise KeyError(wl)
    return nll, args


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def peer_jax(wl, data, spec):
    jax = _jax_setup()
    import numpy as np

    nll, args = jax_nll_builder(wl, data)
    vg_j = jax.jit(jax.value_and_grad(nll))

    def vg(th):
        f, g = vg_j(th, *args)
        return float(f), np.asarray(g)

    x0 = np.array(spec["start"], dtype=float)
    t0 = time.perf_counter()
    vg(x0)
    compile_s = time.perf_counter() - t0
    return dict(eval=vg, fit=lambda: scipy_lbfgs(vg, x0), method="jit(value_and_grad) + scipy L-BFGS-B", compile_s=compile_s)


def peer_jax_optax(wl, data, spec):
    jax = _jax_setup()
    import jax.numpy as jnp
    import numpy as np
    import optax
    import optax.tree_utils as otu

    nll, args = jax_nll_builder(wl, data)
    vg_j = jax.jit(jax.value_and_grad(nll))

    def vg(th):
        f, g = vg_j(th, *args)
        return float(f), np.asarray(g)

    opt = optax.lbfgs()

    def run(x0, *a):
        fun = lambda th: nll(th, *a)  # noqa: E731
        vgs = optax.value_and_grad_from_state(fun)

        def body(c):
            x, st, k, _, _, nls = c
            value, grad = vgs(x, state=st)
            upd, st = opt.update(grad, st, x, value=value, grad=grad, value_fn=fun)
            x = optax.apply_updates(x, upd)
            nls = nls + otu.tree_get(st, "num_linesearch_steps")
            return x, st, k + 1, value, otu.tree_get(st, "value"), nls

        def cond(c):
            x, st, k, fprev, f, _ = c
            g = otu.tree_get(st, "grad")
            small_g = jnp.max(jnp.abs(g)) <= GTOL
            small_df = (fprev - f) <= FTOL * jnp.maximum(jnp.maximum(jnp.abs(f), jnp.abs(fprev)), 1.0)
            return (k == 0) | ((k < MAXITER) & ~small_g & ~small_df)

        st0 = opt.init(x0)
        c0 = (x0, st0, jnp.asarray(0), jnp.asarray(jnp.inf), jnp.asarray(jnp.inf), jnp.asarray(0))
        x, st, k, _, f, nls = jax.lax.while_loop(cond, body, c0)
        return x, f, k, nls

    run_j = jax.jit(run)
    x0 = jnp.asarray(np.array(spec["start"], dtype=float))

    def fit():
        x, f, k, nls = run_j(x0, *args)
        x = np.asarray(x)
        k = int(k)
        return dict(params=list(map(float, x)), nll=float(f), evals=1 + int(nls), iters=k,
                    converged=bool(k < MAXITER), msg="", evals_label=str(1 + int(nls)))

    t0 = time.perf_counter()
    vg(np.asarray(x0))
    fit()  # compiles the whole optimisation loop; its time is reported as compile_s
    compile_s = time.perf_counter() - t0
    return dict(eval=vg, fit=fit, method="optax.lbfgs in jit(while_loop)", compile_s=compile_s)


def peer_iminuit(wl, data, spec, strategy=1):
    jax = _jax_setup()
    import numpy as np
    from iminuit import Minuit

    nll, args = jax_nll_builder(wl, data)
    vg_j = jax.jit(jax.value_and_grad(nll))
    v_j = jax.jit(nll)

    def vg(th):
        f, g = vg_j(th, *args)
        return float(f), np.asarray(g)

    x0 = np.array(spec["start"], dtype=float)
    t0 = time.perf_counter()
    vg(x0)
    float(v_j(x0, *args))
    compile_s = time.perf_counter() - t0

    def fit():
        # MIGRAD calls fcn (value only) and grad separately; grad evaluates
        # value_and_grad and caches the value in case fcn is asked at that point
        cache = {"x": None, "v": None, "nvg": 0, "nv": 0}

        def fcn(x):
            x = np.asarray(x, dtype=float)
            if cache["x"] is not None and np.array_equal(cache["x"], x):
                return cache["v"][0]
            cache["nv"] += 1
            return float(v_j(x, *args))

        def grad(x):
            x = np.asarray(x, dtype=float)
            if cache["x"] is None or not np.array_equal(cache["x"], x):
                cache["v"] = vg(x)
                cache["x"] = x.copy()
                cache["nvg"] += 1
            return cache["v"][1]

        m = Minuit(fcn, x0, grad=grad, name=spec["params"])
        m.errordef = Minuit.LIKELIHOOD
        m.strategy = strategy
        m.tol = 0.01  # EDM < 0.002 * tol * errordef = 1e-5
        m.migrad()
        return dict(params=[float(v) for v in m.values], nll=float(m.fval), evals=cache["nvg"] + cache["nv"],
                    iters=None, converged=bool(m.valid), evals_label=f"{cache['nvg']}+{cache['nv']}v",
                    msg=f"value+grad calls={cache['nvg']}, value-only calls={cache['nv']} (nfcn={m.nfcn} ngrad={m.ngrad})")

    return dict(eval=vg, fit=fit, method=f"MIGRAD strategy {strategy}, JAX value / value_and_grad", compile_s=compile_s)


def peer_iminuit_s0(wl, data, spec):
    return peer_iminuit(wl, data, spec, strategy=0)


def peer_statsmodels(wl, data, spec):
    import numpy as np
    import statsmodels.api as sm
    from workloads import NumpyNLL, design

    x0 = np.array(spec["start"], dtype=float)

    if wl == "w1":
        Xc = sm.add_constant(data["x"])
        model = sm.OLS(data["y"], Xc)

        def fit():
            r = model.fit()
            n = len(data["y"])
            sig = math.sqrt(r.ssr / n)
            return dict(params=[float(r.params[0]), float(r.params[1]), math.log(sig)], nll=float(-r.llf),
                        evals=0, iters=None, converged=True, msg="closed form (pinv)", evals_label="closed form")

        def ev(th):
            return model.loglike(th[:2]), model.score(th[:2])

        return dict(eval=ev, fit=fit, method="OLS (closed form); eval = profile loglike+score")

    if wl in ("w3", "w4", "w6"):
        Xc = sm.add_constant(design(data, wl))
        y = data["y"]
        if wl == "w3":
            model = sm.Logit(y, Xc)
            kw = dict(method="newton", disp=0, start_params=x0, skip_hessian=True)
        elif wl == "w4":
            model = sm.GLM(y, Xc, family=sm.families.Poisson())
            kw = dict(start_params=x0)
        else:
            model = sm.MNLogit(y, Xc)
            kw = dict(method="newton", disp=0, start_params=x0, skip_hessian=True)

        def fit():
            r = model.fit(**kw)
            p = np.asarray(r.params)
            p = p.T.ravel() if p.ndim == 2 else p
            if wl == "w4":
                it = int(r.fit_history["iteration"])
                meth = "IRLS"
            else:
                it = int(r.mle_retvals["iterations"])
                meth = "Newton"
            return dict(params=list(map(float, p)), nll=float(-r.llf), evals=it, iters=it,
                        converged=bool(r.converged if wl == "w4" else r.mle_retvals["converged"]),
                        msg=f"{meth} iterations (each: score + Hessian)", evals_label=f"{it} {meth} it")

        def ev(th):
            return model.loglike(th), model.score(th)

        name = {"w3": "Logit newton", "w4": "GLM Poisson IRLS", "w6": "MNLogit newton"}[wl]
        return dict(eval=ev, fit=fit, method=name + "; evals column = iterations")

    # GenericLikelihoodModel with analytic loglike+score (from the numpy NLL)
    from statsmodels.base.model import GenericLikelihoodModel

    npnll = NumpyNLL(wl, data)

    class Model(GenericLikelihoodModel):
        def loglike(self, params):
            return -npnll(params)[0]

        def score(self, params):
            return -npnll(params)[1]

    endog = data["x"] if wl == "w5" else data["y"]
    exog = np.ones((len(endog), 1))
    model = Model(endog, exog, extra_params_names=spec["params"][1:])
    model.exog_names[:] = spec["params"]

    def fit():
        cnt = [0]

        def ls(p):
            cnt[0] += 1
            f, g = npnll(p)
            return -f, -g

        r = model.fit(start_params=x0, method="lbfgs", disp=0, skip_hessian=True, maxiter=MAXITER,
                      loglike_and_score=ls, factr=FTOL / 2.220446049250313e-16, pgtol=GTOL)
        return dict(params=list(map(float, r.params)), nll=float(-r.llf), evals=cnt[0],
                    iters=int(r.mle_retvals.get("iterations", -1)), converged=bool(r.mle_retvals.get("converged")),
                    msg="GenericLikelihoodModel lbfgs, skip_hessian", evals_label=str(cnt[0]))

    def ev(th):
        return model.loglike(th), model.score(th)

    return dict(eval=ev, fit=fit, method="GenericLikelihoodModel + analytic score, lbfgs")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, choices=PEERS)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "n1000000"))
    ap.add_argument("--eval-reps", type=int, default=15)
    ap.add_argument("--fit-reps", type=int, default=3)
    ap.add_argument("--out", default=None, help="append the JSON line to this file")
    a = ap.parse_args()
    setup_threads(a.threads)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np
    import scipy.optimize  # noqa: F401  (import cost outside the timed fits)
    from workloads import WORKLOADS, load

    spec = WORKLOADS[a.workload]
    t0 = time.perf_counter()
    data = load(a.data, a.workload)
    load_s = time.perf_counter() - t0
    n = len(next(iter(data.values())))
    rec = dict(peer=a.peer, workload=a.workload, threads=a.threads, n=n, load_npy_s=load_s,
               loadavg_start=open("/proc/loadavg").read().split()[0])
    try:
        p = globals()["peer_" + a.peer.replace("-", "_")](a.workload, data, spec)
        truth = np.array(spec["truth"], dtype=float)
        em, emin, ereps = time_eval(p["eval"], truth, a.eval_reps)
        fm, fts, first, out = time_fit(p["fit"], a.fit_reps)
        rec.update(method=p["method"], eval_s=em, eval_min_s=emin, eval_reps=ereps, fit_s=fm,
                   fit_all_s=fts, fit_first_s=first, compile_s=p.get("compile_s"), **out)
        rec["param_names"] = spec["params"]
        rec["ok"] = True
    except Exception as e:  # record the failure in the table instead of aborting the suite
        import traceback

        traceback.print_exc()
        rec.update(ok=False, error=f"{type(e).__name__}: {e}")
    line = json.dumps(rec)
    print(line, flush=True)
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
