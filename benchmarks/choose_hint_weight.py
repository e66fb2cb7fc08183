"""Choose deepcolor-hints' data weight on held-out images, never on the test lists.

    python benchmarks/choose_hint_weight.py --data ROOT [--limit 40] [--weights 0,1e-6,3e-6,1e-5,3e-5,1e-4]
        [--hints 1,2,5,10,20,50,100] [--gain-priors none,0.1] [--chroma-sigmas 0,0.1,0.22,0.4]

Held-out images: Stanford Background's validation list (``stanford val``), which no
colorization training list holds (the shipped model learned from SIFT Flow train and SUN
extra). Every image gets the benchmark's simulated hints (3x3 patches of true chroma,
seed ``(0, index)``), then: deepcolor without hints, Levin et al. 2004 from the hints
alone (``levin-hints``), ``deepcolor-hints`` at each data weight without the fitted gain,
at the default weight with each gain prior (chroma guide off), and at the default weight and
prior with each chroma guide sigma (``--chroma-sigmas``; 0 = off). Prints mean PSNR
(the paper's protocol) per hint count, and the median seconds per image of each weight
(this machine, this run).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--weights", default="0,1e-6,3e-6,1e-5,3e-5,1e-4")
    p.add_argument("--hints", default="1,2,5,10,20,50,100")
    p.add_argument("--gain-priors", default="none,0.1",
                   help="priors of the fitted gain to try at the best weight ('none': no gain)")
    p.add_argument("--chroma-sigmas", default="",
                   help="sigmas of the automatic chroma as a second guide of the propagation (gray levels; 0 = off)")
    args = p.parse_args(argv)

    from deepcolor.baselines.levin import levin_colorize
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.hints import simulate_hints
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr
    from deepcolor.data import load_dataset
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.colorizer import to_full_resolution as finish
    from deepcolor.pipeline.hints import apply_hints, hint_chroma

    records = load_dataset("stanford", args.data, "val")[: args.limit]
    weights = [float(w) for w in args.weights.split(",") if w]
    priors = [float(g) for g in args.gain_priors.split(",") if g and g != "none"]
    sigmas = [float(c) for c in args.chroma_sigmas.split(",") if c]
    from deepcolor.core.settings import HintSettings

    args_weight, args_prior = HintSettings.data_weight, HintSettings.gain_prior
    counts = [int(k) for k in args.hints.split(",")]
    colorizer = Colorizer.load()
    scores, seconds = {}, {}
    for index, record in enumerate(records):
        rgb = load_rgb(record.path)
        gray = rgb2gray(rgb)
        work, uv = colorizer.working_chroma(gray)[:2]  # what colorize(hints=...) starts from, computed once
        scores.setdefault("deepcolor", []).append(psnr(rgb, finish(gray, work, uv)))
        for k in counts:
            hints_rgb, mask = simulate_hints(rgb, k, patch=3, seed=(0, index))
            scores.setdefault(("levin-hints", k), []).append(psnr(rgb, levin_colorize(gray, hints_rgb, mask)))
            values, work_mask = hint_chroma(gray, hints_rgb, mask, work.shape)
            for w in weights:  # without the gain: the weight alone
                t0 = time.perf_counter()
                out = finish(gray, work, apply_hints(work, uv, values, work_mask, w, gain_prior=float("inf"),
                                                     chroma_sigma=0.0))
                seconds.setdefault(w, []).append(time.perf_counter() - t0)
                scores.setdefault((w, k), []).append(psnr(rgb, out))
            for prior in priors:
                out = finish(gray, work, apply_hints(work, uv, values, work_mask, args_weight, gain_prior=prior,
                                                     chroma_sigma=0.0))
                scores.setdefault(("gain", prior, k), []).append(psnr(rgb, out))
            for sigma in sigmas:
                t0 = time.perf_counter()
                out = finish(gray, work, apply_hints(work, uv, values, work_mask, args_weight, gain_prior=args_prior,
                                                     chroma_sigma=sigma))
                seconds.setdefault(("sigma", sigma), []).append(time.perf_counter() - t0)
                scores.setdefault(("sigma", sigma, k), []).append(psnr(rgb, out))
        print(f"{index + 1}/{len(records)}", end="\r", file=sys.stderr, flush=True)
    print(f"Stanford Background val, first {len(records)} images; mean PSNR (dB); deepcolor without hints: "
          f"{np.mean(scores['deepcolor']):.2f}")
    print(f"{'hints':>6} {'levin':>7} " + " ".join(f"{'w=' + format(w, 'g'):>9}" for w in weights)
          + ("   (chroma guide off, no gain)" if weights else ""))
    for k in counts:
        print(f"{k:>6} {np.mean(scores[('levin-hints', k)]):7.2f} "
              + " ".join(f"{np.mean(scores[(w, k)]):9.2f}" for w in weights))
    if priors:
        print(f"with the fitted gain (data weight {args_weight:g}); 'none' is the column w={args_weight:g} above")
        print(f"{'hints':>6} " + " ".join(f"{'prior ' + format(g, 'g'):>11}" for g in priors))
        for k in counts:
            print(f"{k:>6} " + " ".join(f"{np.mean(scores[('gain', g, k)]):11.2f}" for g in priors))
    if sigmas:
        print(f"with the automatic chroma as a second guide (data weight {args_weight:g}, gain prior {args_prior:g})")
        print(f"{'hints':>6} " + " ".join(f"{'sigma ' + format(c, 'g'):>11}" for c in sigmas))
        for k in counts:
            print(f"{k:>6} " + " ".join(f"{np.mean(scores[('sigma', c, k)]):11.2f}" for c in sigmas))
    print("median s/image of the hint step: " + ", ".join(
        [f"w={w:g} {np.median(seconds[w]):.3f}" for w in weights]
        + [f"sigma={c:g} {np.median(seconds[('sigma', c)]):.3f}" for c in sigmas]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
