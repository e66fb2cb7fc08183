"""Speed and memory of colorization at every size, beside the paper and the newer pipelines.

Usage::

    python benchmarks/bench_colorize.py [--sizes 256,512,1024,2048,4000x3000] [--repeat 5] [--no-compare]
    python benchmarks/bench_colorize.py --peak-memory 2000x1500,4000x3000,8000x6000

Timing: ``Colorizer.colorize`` on a gray image (default: a generated textured scene; or
``--image PHOTO`` resized), the median of ``--repeat`` runs after one warm-up run (model
loading excluded), on ``--threads`` threads, beside the ECCV16 and SIGGRAPH17 pipelines of
Zhang et al. timed in the same run, interleaved (their architectures written in
``reference_pipelines.py`` with random weights, which time the same as trained ones; no
weights are downloaded) and the paper's MATLAB times (Intel Xeon 2.30 GHz).

``--peak-memory`` writes a JPEG photo of each size (scikit-image's astronaut, resized, with
noise) and runs ``deepcolor colorize`` on it in a child process, whose peak resident
memory (``wait4``'s ``ru_maxrss``) and wall time are printed with the memory per
megapixel, so growth with size is visible.
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


def parse_size(text):
    """``"512"`` -> (512, 512); ``"4000x3000"`` -> (3000 rows, 4000 columns)."""
    if "x" in text.lower():
        width, height = (int(v) for v in text.lower().split("x"))
        return height, width
    return int(text), int(text)


def _median_seconds(fn, repeat):
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--image", help="photo to resize to each size (default: a generated scene)")
    parser.add_argument("--sizes", default="256,512,1024,2048,4000x3000", help="N (square) or WxH, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median; default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch / OpenCV threads (default 2)")
    parser.add_argument("--working-size", type=int, help="override the model's working size (0 = native)")
    parser.add_argument("--no-compare", action="store_true", help="skip the ECCV16 / SIGGRAPH17 pipelines")
    parser.add_argument("--peak-memory", metavar="WxH,...", help="peak memory of 'deepcolor colorize' at these sizes")
    args = parser.parse_args(argv)
    if args.peak_memory:
        return peak_memory(args.peak_memory.split(","), args.model)

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    from deepcolor import Colorizer
    from deepcolor.core.io import load_gray

    colorizer = Colorizer.load(args.model, working_size=args.working_size)
    base = load_gray(args.image) if args.image else None
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    networks = {}
    if not args.no_compare:
        import reference_pipelines as ref

        networks = {"ECCV16": (ref.eccv16(), False), "SIGGRAPH17": (ref.siggraph17(), True)}
    print(f"model {colorizer.model_dir}, working size {colorizer.settings.working_size or 'native'}, refine "
          f"{colorizer.refine}, {args.threads} threads, median of {args.repeat} runs; ECCV16 / SIGGRAPH17: "
          "their architectures with random weights, pipelines as in reference_pipelines.py")
    header = f"{'size':>11} {'deepcolor (s)':>13}" + "".join(f" {n + ' (s)':>15}" for n in networks)
    print(header + f" {'paper (s)':>10}" + "".join(f" {'vs ' + n:>14}" for n in networks))
    for h, w in sizes:
        gray = cv2.resize(base, (w, h), interpolation=cv2.INTER_AREA) if base is not None else scene(h, width=w)
        rgb = np.repeat(gray[..., None], 3, axis=2)
        ours = _median_seconds(lambda: colorizer.colorize(gray), args.repeat)
        theirs = {n: _median_seconds(lambda: ref.run_pipeline(net, rgb, hints=hints), args.repeat)
                  for n, (net, hints) in networks.items()}
        paper = PAPER.get(h) if h == w else None
        print(f"{w:>5}x{h:<5} {ours:>13.3f}" + "".join(f" {t:>15.3f}" for t in theirs.values())
              + f" {paper if paper else float('nan'):>10.2f}"
              + "".join(f" {t / ours:>13.2f}x" for t in theirs.values()))
    return 0


def peak_memory(sizes, model=None):
    """Peak resident memory of ``deepcolor colorize`` on a JPEG photo of each size, in child processes."""
    import shutil
    import subprocess
    import tempfile

    import cv2
    import skimage.data
    from PIL import Image

    photo = skimage.data.astronaut()
    folder = tempfile.mkdtemp(prefix="bench_memory_")
    command = shutil.which("deepcolor") or f"{sys.executable} -m deepcolor"
    print(f"peak resident memory of '{command} colorize' (child process, ru_maxrss), model "
          f"{model or 'shipped'}")
    print(f"{'size':>11} {'megapixels':>10} {'peak (MiB)':>10} {'MiB / MP':>9} {'seconds':>8}")
    try:
        for text in sizes:
            h, w = parse_size(text)
            rng = np.random.default_rng(0)
            img = cv2.resize(photo, (w, h), interpolation=cv2.INTER_CUBIC)
            img = np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape, dtype=np.int16), 0, 255)
            src = os.path.join(folder, f"photo_{w}x{h}.jpg")
            Image.fromarray(img.astype(np.uint8)).save(src, quality=90)
            del img
            argv = command.split() + ["colorize", src, "-o", os.path.join(folder, f"out_{w}x{h}.png"), "--force",
                                      "--quiet"] + (["--model", model] if model else [])
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - t0
            if proc.returncode:
                raise SystemExit(f"{' '.join(argv)} failed with status {proc.returncode}")
            mp = h * w / 1e6
            peak = usage.ru_maxrss / 1024
            print(f"{w:>5}x{h:<5} {mp:>10.1f} {peak:>10.0f} {peak / mp:>9.1f} {seconds:>8.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
