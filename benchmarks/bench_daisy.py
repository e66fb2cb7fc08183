"""DAISY speed: features.extract_daisy vs skimage.feature.daisy (same parameters).

Usage::

    python benchmarks/bench_daisy.py [--sizes 256 1024] [--repeats 7] [--threads 2]

scikit-image is called as ``daisy(img, step=1, radius=7, rings=1, histograms=3,
orientations=8, normalization="l2")``; ours is timed with the same normalization and
with its default (per-histogram L2, Tola et al.; scikit-image's ``"daisy"``). All three
are timed in the same process, interleaved run by run, on the same image (smoothed
noise); medians are reported with the ratios (scikit-image / ours). scikit-image drops a
7-px border and returns float64; ours covers every pixel and returns float32. The max
abs difference to scikit-image (same normalization) is printed for pixels >= 20 px from
the border and for every pixel scikit-image describes.
"""

import argparse
import os
import time

from _common import print_calibration, smooth_noise, start_threads


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2, help="Numba / OpenCV threads (default 2)")
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats must be >= 5")

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import numpy as np
    from skimage.feature import daisy

    from deepcolor import features
    start_threads(args.threads)
    print_calibration()
    sk = dict(step=1, radius=7, rings=1, histograms=3, orientations=8)

    rng = np.random.default_rng(0)
    for n in args.sizes:
        img = smooth_noise(rng, n, n, 1.0)
        features.extract_daisy(img)  # JIT warm-up (cached on disk after the first run)
        t_ours, t_def, t_sk = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ours = features.extract_daisy(img, normalization="l2")
            t1 = time.perf_counter()
            ref = daisy(img, normalization="l2", **sk)
            t2 = time.perf_counter()
            ours_d = features.extract_daisy(img)  # default: per-histogram ("daisy")
            t3 = time.perf_counter()
            t_ours.append(t1 - t0)
            t_sk.append(t2 - t1)
            t_def.append(t3 - t2)
        m = 20
        diff_l2 = np.abs(ours[m:-m, m:-m] - ref[m - 7 : -(m - 7), m - 7 : -(m - 7)]).max()
        ref_d = daisy(img, normalization="daisy", **sk)
        diff_d = np.abs(ours_d[m:-m, m:-m] - ref_d[m - 7 : -(m - 7), m - 7 : -(m - 7)]).max()
        diff_all = np.abs(ours_d[7:-7, 7:-7] - ref_d).max()
        mo, md, ms = (np.median(t) * 1e3 for t in (t_ours, t_def, t_sk))
        print(
            f"{n}x{n}: scikit-image (l2) {ms:.1f} ms; ours l2 {mo:.1f} ms -> ratio {ms / mo:.2f}x; "
            f"ours default (per-histogram) {md:.1f} ms -> ratio {ms / md:.2f}x "
            f"(medians of {args.repeats}; mins sk {min(t_sk) * 1e3:.1f}, ours l2 {min(t_ours) * 1e3:.1f}, "
            f"default {min(t_def) * 1e3:.1f} ms)"
        )
        print(
            f"{n}x{n}: max |ours - scikit-image| at >= {m} px from the border: l2 {diff_l2:.2e}, "
            f"daisy {diff_d:.2e}; on all {n - 14}x{n - 14} pixels scikit-image describes: {diff_all:.2e}"
        )

if __name__ == "__main__":
    main()
