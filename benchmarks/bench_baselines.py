"""Speed and memory of the baselines, with the evidence behind Levin's solver choice.

Prints, per configuration, the median wall and CPU time of ``--repeats`` runs and the
peak memory of one run in a fresh process (resident set growth over the process's
baseline, and tracemalloc's peak of Python/NumPy allocations):

* Levin et al. 2004 (``levin_colorize``, 50 simulated 3x3 hints) at 256x256 and
  1024x1024 with the default solver (multigrid-preconditioned CG);
* the solver comparison in the same run: sparse LU (SuperLU, factorized once for U
  and V) at 256 and 512, CG with a Jacobi preconditioner, and BiCGSTAB on the paper's
  nonsymmetric per-pixel-sigma system;
* Welsh et al. 2002 and Reinhard et al. 2001 at 256x256.

The image is a SIFT Flow photo resized (``$DEEPCOLOR_DATA`` or ``--data``) or, without
the data, a synthetic one. Usage::

    python benchmarks/bench_baselines.py [--data ROOT] [--repeats 3] [--quick]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

IMAGE = "siftflow/images/coast_arnat59.jpg"
REFERENCE = "siftflow/images/coast_bea3.jpg"


def _image(size, data_root, name=IMAGE, seed=0):
    import cv2

    if data_root and os.path.exists(os.path.join(data_root, name)):
        from deepcolor.core.io import load_rgb

        rgb = load_rgb(os.path.join(data_root, name))
    else:  # synthetic: smooth colour field with texture and hard-edged shapes
        rng = np.random.default_rng(seed)
        base = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (0, 0), 6)
        rgb = cv2.resize(base, (256, 256)) * 255
        rgb += rng.normal(0, 8, rgb.shape)
        cv2.circle(rgb, (90, 100), 40, (220, 60, 40), -1)
        cv2.rectangle(rgb, (150, 30), (230, 120), (40, 90, 200), -1)
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_CUBIC)


def _levin_inputs(size, data_root, n_hints=50):
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.hints import simulate_hints

    rgb = _image(size, data_root)
    hints_rgb, mask = simulate_hints(rgb, n_hints, patch=3, seed=0)
    return rgb2gray(rgb), hints_rgb, mask


def _jacobi_cg(gray, hints_rgb, mask, maxiter):
    """CG with a Jacobi preconditioner on the same SPD system (evidence only)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from deepcolor.baselines import levin
    from deepcolor.core.color import rgb2yuv

    K = levin.affinity_kernel(gray)
    degree = np.asarray(K.sum(axis=1)).ravel()
    free = ~mask.ravel()
    known = np.zeros((gray.size, 2))
    known[~free] = rgb2yuv(hints_rgb)[..., 1:].reshape(-1, 2)[~free]
    b = (K @ known) * free[:, None] + known
    A = levin._grid_system(K, degree, free)
    M = sp.diags(1.0 / A.diagonal())
    iterations = []
    for k in range(2):
        count = [0]
        _, info = spla.cg(A, b[:, k], x0=known[:, k].copy(), rtol=levin.DEFAULT_RTOL, maxiter=maxiter, M=M,
                          callback=lambda _x, c=count: c.__setitem__(0, c[0] + 1))
        iterations.append(count[0] if info == 0 else f">{maxiter}")
    return iterations


def _task(kind, size, data_root):
    """Return (callable, description) for one configuration."""
    if kind.startswith("levin"):
        from deepcolor.baselines.levin import levin_colorize

        gray, hints_rgb, mask = _levin_inputs(size, data_root)
        kwargs = {
            "levin": {},
            "levin-splu": {"solver": "splu"},
            "levin-paper-sigma": {"symmetric": False},
        }.get(kind)
        if kind == "levin-jacobi-cg":
            return lambda: _jacobi_cg(gray, hints_rgb, mask, maxiter=3000)
        return lambda: levin_colorize(gray, hints_rgb, mask, **kwargs)
    from deepcolor.baselines.transfer import reinhard_transfer, welsh_transfer
    from deepcolor.core.color import rgb2gray

    gray = rgb2gray(_image(size, data_root))
    ref = _image(size, data_root, REFERENCE, seed=1)
    fn = welsh_transfer if kind == "welsh" else reinhard_transfer
    return lambda: fn(gray, ref)


def _child(kind, size, repeats, data_root):
    # Warm up once on a small image (Numba JIT or its cache load), outside the timings.
    _task(kind, 32, data_root)()
    run = _task(kind, size, data_root)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    extra = run()
    walls, cpus = [time.perf_counter() - t0], [time.process_time() - c0]
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(repeats - 1):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {
        "kind": kind, "size": size, "runs": len(walls),
        "wall_median": float(np.median(walls)), "cpu_median": float(np.median(cpus)),
        "walls": [round(w, 3) for w in walls],
        # tracemalloc slows the first run; the medians are what to read
        "rss_growth_mb": (rss_peak - base_rss) / 1024.0, "traced_peak_mb": traced_peak / 2**20,
        "extra": extra if isinstance(extra, list) else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"), help="data root (default: $DEEPCOLOR_DATA)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median reported; default 3)")
    parser.add_argument("--quick", action="store_true", help="skip the 1024x1024 and 512x512 configurations")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]), args.repeats, args.data)))
        return 0
    plan = [
        ("levin", 256, args.repeats),
        ("levin-splu", 256, args.repeats),
        ("levin-jacobi-cg", 256, 1),
        ("levin-paper-sigma", 256, args.repeats),
        ("welsh", 256, max(args.repeats, 5)),
        ("reinhard", 256, max(args.repeats, 5)),
    ]
    if not args.quick:
        plan[1:1] = [("levin", 1024, args.repeats), ("levin-splu", 512, 1)]
    print(f"image: {'SIFT Flow ' + IMAGE if args.data else 'synthetic'}; Levin with 50 random 3x3 hints; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'configuration':<24}{'size':>6}{'runs':>5}{'wall med (s)':>14}{'cpu med (s)':>13}{'RSS growth (MB)':>17}"
          f"{'traced peak (MB)':>18}  notes")
    for kind, size, repeats in plan:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, str(size), "--repeats", str(repeats)]
        if args.data:
            cmd += ["--data", args.data]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{kind:<24}{size:>6}  failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        note = f"runs {r['walls']}"
        if r["extra"]:
            note += f"; CG iterations U, V: {r['extra']}"
        print(f"{kind:<24}{size:>6}{r['runs']:>5}{r['wall_median']:>14.3f}{r['cpu_median']:>13.3f}"
              f"{r['rss_growth_mb']:>17.0f}{r['traced_peak_mb']:>18.0f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
