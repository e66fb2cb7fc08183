"""Choose the working resolution on held-out images larger than the reference set.

    python benchmarks/choose_working_size.py --data ROOT [--every 5] [--sizes 0,320,400,512,640]
        [--upsample dt,none] [--model DIR] [-o results.json]

Held-out images: every ``--every``-th frame of the DAVIS sequences under
``ROOT/video/davis/`` (854x480; never in any training or test list), or ``--folder DIR``
(recursive). For each working size (``0`` = the input's own resolution, the paper's) and
full-resolution step after the bilinear upsampling (``--upsample``: the model's
refinement guided by the full-resolution gray, or ``none``), prints the mean PSNR (the
paper's protocol), its difference to native resolution (paired over the images) and the
median seconds per image, measured in this run on this machine.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def held_out_images(root, every, folder=None):
    """Paths of the held-out images: every ``every``-th DAVIS frame, or a folder's images."""
    from deepcolor.core.io import is_image_file

    if folder:
        return sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if is_image_file(f))
    base = os.path.join(root, "video", "davis")
    if not os.path.isdir(base):
        raise SystemExit(f"{base}: DAVIS frames not found (see the data README)")
    paths = []
    for seq in sorted(os.listdir(base)):
        frames = sorted(f for f in os.listdir(os.path.join(base, seq)) if is_image_file(f))
        paths += [os.path.join(base, seq, f) for f in frames[::every]]
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"), help="data root (default $DEEPCOLOR_DATA)")
    parser.add_argument("--folder", help="use this folder's images instead of the DAVIS frames")
    parser.add_argument("--every", type=int, default=5, help="every N-th DAVIS frame (default 5)")
    parser.add_argument("--sizes", default="0,320,400,512,640", help="working sizes to compare (0 = native)")
    parser.add_argument("--upsample", default="dt,none", help="full-resolution steps after the bilinear upsampling")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("-o", "--output", help="write the per-image results here as JSON")
    args = parser.parse_args(argv)

    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.colorizer import working_image

    sizes = [int(s) for s in args.sizes.split(",")]
    steps = [s.strip() for s in args.upsample.split(",")]
    paths = held_out_images(args.data, args.every, args.folder)
    colorizer = Colorizer.load(args.model)
    variants = [(size, step) for size in sizes for step in (steps if size else ["-"])]
    rows = {v: [] for v in variants}
    seconds = {v: [] for v in variants}
    for i, path in enumerate(paths):
        rgb = load_rgb(path)
        gray = rgb2gray(rgb)
        for size, step in variants:  # interleaved, so machine load affects every variant alike
            c = Colorizer(colorizer.model_dir, colorizer.config, colorizer.all_clusters, colorizer.parser,
                          colorizer.settings.__class__(**{**colorizer.settings.to_json(), "working_size": size}))
            c._networks = colorizer._networks
            t0 = time.perf_counter()
            if step in ("-", c.refine):
                pred = c.colorize(gray)
            else:  # the same pipeline with another full-resolution step
                pred = _colorize_with_step(c, gray, step, working_image)
            seconds[(size, step)].append(time.perf_counter() - t0)
            rows[(size, step)].append(psnr(rgb, pred))
        print(f"\r{i + 1}/{len(paths)} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    native = np.array(rows[(0, "-")]) if (0, "-") in rows else None
    print(f"{len(paths)} held-out images ({'DAVIS every %d-th frame' % args.every if not args.folder else args.folder})")
    print(f"{'working size':>12} {'full-res step':>13} {'PSNR mean':>9} {'vs native':>9} {'s/img':>7}")
    summary = []
    for (size, step) in variants:
        values = np.array(rows[(size, step)])
        diff = float(np.mean(values - native)) if native is not None else float("nan")
        med = float(np.median(seconds[(size, step)]))
        print(f"{size or 'native':>12} {step:>13} {values.mean():9.3f} {diff:+9.3f} {med:7.3f}")
        summary.append({"working_size": size, "upsample": step, "psnr_mean": float(values.mean()),
                        "vs_native": diff, "seconds_median": med})
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"images": paths, "summary": summary,
                       "per_image": {f"{s}:{st}": rows[(s, st)] for s, st in variants}}, handle, indent=1)
    return 0


def _colorize_with_step(c, gray, step, working_image):
    from deepcolor.core.color import combine
    from deepcolor.core.refine import refine_chroma, upsample_chroma
    from deepcolor.pipeline.colorizer import predict_chroma

    work = working_image(gray, c.settings.working_size)
    probs, g, h = c.analyze(work)
    result = c.select(work, probs, g, h)
    uv = refine_chroma(work, predict_chroma([c.network(x) for x in result.chosen], work, probs, c.stride), c.refine)
    if work is not gray:
        uv = upsample_chroma(uv, gray, step)
    return combine(gray, uv)


if __name__ == "__main__":
    sys.exit(main())
