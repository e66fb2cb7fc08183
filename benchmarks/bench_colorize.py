"""Speed of ``Colorizer.colorize`` at 256, 512 and 1024 pixels square, beside the paper's.

Usage::

    python benchmarks/bench_colorize.py [--model DIR] [--image PHOTO] [--repeat 3] [--threads 2]
    python benchmarks/bench_colorize.py --peak-memory 4000x3000 [--model DIR]

The image (default: a generated textured scene) is resized to each size; the time is the
median of ``--repeat`` runs after one warm-up run (model and parser loading excluded), on
``--threads`` torch/OpenCV threads. The paper's times are MATLAB on an Intel Xeon 2.30 GHz.

``--peak-memory WxH`` instead colorizes one generated W x H image in a fresh process and
prints its peak resident memory, and the resident memory after loading the model, so the
part the image itself costs is visible.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)

PAPER = {256: 6.780, 512: 17.413, 1024: 63.142}


def scene(size, seed=0, width=None):
    """A textured outdoor-like gray test image (sky gradient, horizon, noise), size x width."""
    rng = np.random.default_rng(seed)
    width = width or size
    y = np.linspace(0, 1, size)[:, None]
    img = 200 - 80 * y + 30 * np.sin(np.linspace(0, 12, width))[None, :] * (y > 0.5)
    img = img + rng.normal(0, 8, (size, width))
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
    parser.add_argument("--peak-memory", metavar="WxH", help="measure peak memory of one W x H colorization")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_memory and not args.child:
        return peak_memory(sys.argv[1:] if argv is None else argv)

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    from deepcolor import Colorizer
    from deepcolor.core.io import load_gray

    colorizer = Colorizer.load(args.model, refine=args.refine, blend=args.blend)
    if args.child:
        return colorize_once(colorizer, args.peak_memory)
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


def colorize_once(colorizer, size):
    import resource

    width, height = (int(v) for v in size.lower().split("x"))
    gray = scene(height, width=width)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    rgb = colorizer.colorize(gray)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{width}x{height}: peak RSS {peak:.0f} MiB (after loading the model {loaded:.0f} MiB; "
          f"output {rgb.nbytes / 2**20:.0f} MiB), {seconds:.1f} s, model {colorizer.model_dir}, "
          f"blend {colorizer.blend}, stride {colorizer.stride}")
    return 0


def peak_memory(argv):
    """Run the measurement in a fresh process, so nothing earlier inflates its peak."""
    import subprocess

    return subprocess.call([sys.executable, os.path.abspath(__file__), *argv, "--child"])


if __name__ == "__main__":
    sys.exit(main())
