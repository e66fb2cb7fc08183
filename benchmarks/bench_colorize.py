"""Speed of ``Colorizer.colorize`` at 256, 512 and 1024 pixels square, beside the paper's.

Usage::

    python benchmarks/bench_colorize.py [--model DIR] [--image PHOTO] [--repeat 3] [--threads 2]

The image (default: a generated textured scene) is resized to each size; the time is the
median of ``--repeat`` runs after one warm-up run (model and parser loading excluded), on
``--threads`` torch/OpenCV threads. The paper's times are MATLAB on an Intel Xeon 2.30 GHz.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)

PAPER = {256: 6.780, 512: 17.413, 1024: 63.142}


def scene(size, seed=0):
    """A textured outdoor-like gray test image (sky gradient, horizon, noise)."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, size)[:, None]
    img = 200 - 80 * y + 30 * np.sin(np.linspace(0, 12, size))[None, :] * (y > 0.5)
    img = img + rng.normal(0, 8, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--image", help="photo to resize to each size (default: a generated scene)")
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--refine", choices=["jbf", "dt", "none"])
    parser.add_argument("--blend", type=int, help="networks averaged (default: the model's)")
    args = parser.parse_args(argv)

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    from deepcolor import Colorizer
    from deepcolor.io import load_gray

    colorizer = Colorizer.load(args.model, refine=args.refine, blend=args.blend)
    base = load_gray(args.image) if args.image else None
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"model {colorizer.model_dir}, refine {colorizer.refine}, {args.threads} threads, "
          f"median of {args.repeat} runs")
    print(f"{'size':>11} {'ours (s)':>9} {'analyze':>8} {'predict':>8} {'refine':>7} {'paper (s)':>10} {'speed-up':>9}")
    for size in sizes:
        gray = cv2.resize(base, (size, size), interpolation=cv2.INTER_AREA) if base is not None else scene(size)
        colorizer.colorize(gray)  # warm-up
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            _, info = colorizer.colorize(gray, return_info=True)
            runs.append((time.perf_counter() - t0, info["seconds"]))
        total = statistics.median(r[0] for r in runs)
        parts = {k: statistics.median(r[1][k] for r in runs) for k in ("analyze", "predict", "refine")}
        paper = PAPER.get(size)
        print(f"{size:>4}x{size:<6} {total:>9.3f} {parts['analyze']:>8.3f} {parts['predict']:>8.3f} "
              f"{parts['refine']:>7.3f} {paper if paper else float('nan'):>10.3f} "
              f"{(paper / total) if paper else float('nan'):>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
