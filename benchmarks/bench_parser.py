"""Speed of the semantic feature: scene parser + domain-transform smoothing.

Targets (issue 4): <= 60 ms at 256x256 and <= 1 s at 1024x1024 on 2 CPU cores.

    python benchmarks/bench_parser.py [--model PATH] [--image FILE] [--runs 7] [--threads 1]

Prints the median (and min) wall time over ``--runs`` runs after one warm-up run, for the
parser alone (full-resolution ``SceneParser.predict``), the smoothing alone and the whole
semantic feature (:func:`deepcolor.features.semantic.semantic_probabilities`, which upsamples the
parser's working-resolution output only once). It also prints the median CPU time of the
process: on a machine shared with other jobs the wall time includes waiting for a core,
and with ``--threads 1`` the CPU time is what the run costs on an idle core.
"""

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def timed(fn, runs):
    """(median wall s, min wall s, median CPU s of this process) over ``runs`` runs after a warm-up."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), min(times), statistics.median(cpu)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="parser folder (default: the shipped parser)")
    ap.add_argument("--image", default=None, help="image to resize to each size (default: a synthetic scene)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: on 2 cores shared with other jobs, 2 OpenMP "
                         "threads spin-wait against each other and run 2-3x slower than 1)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.runs < 5:
        ap.error("--runs must be at least 5")

    import cv2
    import torch

    from deepcolor.features.scene_parser import load_parser
    from deepcolor.features.semantic import semantic_probabilities, smooth_probabilities

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    parser = load_parser(args.model, device="cpu")
    if args.image:
        from deepcolor.core.io import load_gray

        base = load_gray(args.image)
    else:
        rng = np.random.default_rng(0)
        base = np.tile(np.linspace(230, 40, 240)[:, None], (1, 320)) + rng.normal(0, 12, (240, 320))
        base = np.clip(base, 0, 255).astype(np.uint8)
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"parser: {parser.num_classes} classes, input_scale {parser.config.get('input_scale')}, "
          f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
    results = {}
    for size in args.sizes:
        gray = cv2.resize(base, (size, size), interpolation=cv2.INTER_LINEAR)
        prob = parser.predict(gray)
        t_parser = timed(lambda: parser.predict(gray), args.runs)
        t_smooth = timed(lambda: smooth_probabilities(prob, gray), args.runs)
        t_total = timed(lambda: semantic_probabilities(gray, parser), args.runs)
        target = 0.060 if size <= 256 else 1.0 if size <= 1024 else None
        results[size] = {"parser_s": t_parser[0], "smooth_s": t_smooth[0], "total_s": t_total[0],
                         "total_min_s": t_total[1], "total_cpu_s": t_total[2]}
        verdict = "" if target is None else ("  OK" if t_total[0] <= target else f"  OVER target {target * 1000:.0f} ms")
        print(f"{size}x{size}: parser {t_parser[0] * 1000:7.1f} ms, smoothing {t_smooth[0] * 1000:7.1f} ms, "
              f"total {t_total[0] * 1000:7.1f} ms (median of {args.runs}; min {t_total[1] * 1000:.1f} ms; "
              f"CPU {t_total[2] * 1000:.1f} ms){verdict}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
