"""Training's deep stage (``prepare_deep``) in one process against ``--jobs`` worker processes.

Usage::

    python benchmarks/bench_deep_stage.py [--net vgg16+inception] [--layers 4,5,6,7] [--images 32]
                                          [--jobs 2] [--repeats 3]

Writes ``--images`` synthetic 224 x 298 photos (the general set's largest size) to a temporary
folder and computes the network's vectors at 250 samples of each into a fresh cache, as
training does (:func:`deepcolor.pipeline.training_set.prepare_deep`): once in this process
(torch on all its threads), once in ``--jobs`` one-thread worker processes. Prints the
median wall seconds of ``--repeats`` runs of each, images per second, and the ratio of the
workers' rate to the one process's measured in the same run. The workers' time includes
starting them and loading the network in each.
"""

import argparse
import os
import tempfile
import time

import numpy as np

from _common import print_calibration, smooth_noise, start_threads


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="vgg16+inception")
    ap.add_argument("--layers", default="4,5,6,7")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if args.images < 2 or args.jobs < 2 or args.repeats < 1:
        ap.error("--images >= 2, --jobs >= 2 and --repeats >= 1 are needed")

    from PIL import Image

    from deepcolor.data.cache import FeatureCache
    from deepcolor.data.training_set import TrainingSet
    from deepcolor.features.deep import load_net
    from deepcolor.pipeline import training_set
    from deepcolor.pipeline.training_set import feature_config, prepare_deep

    start_threads(os.cpu_count())
    print_calibration()
    load_net(args.net, "bench_deep_stage.py")  # a missing network is said here, not in a worker
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.images):
            gray = smooth_noise(rng, 224, 298, 1.5)
            rgb = np.stack([gray, np.roll(gray, 7, axis=0), np.roll(gray, 11, axis=1)], axis=-1)
            paths.append(os.path.join(tmp, f"img{i:03d}.png"))
            Image.fromarray(rgb.astype(np.uint8)).save(paths[-1])
        config = feature_config(250, 0, False, None, False, True, args.layers, args.net)
        names = [os.path.basename(p) for p in paths]
        tset = TrainingSet(names, paths, names, np.zeros((len(paths), 1), np.float32),
                           np.zeros((len(paths), 0), np.float32), config, tmp)
        chunk = max(1, min(training_set.DEEP_CHUNK, args.images // (2 * args.jobs)))
        training_set.DEEP_CHUNK = chunk  # every worker gets work at this small a set
        medians = {}
        for jobs in (1, args.jobs):
            times = []
            for r in range(args.repeats):
                cache = FeatureCache(os.path.join(tmp, f"cache-{jobs}-{r}"))
                t0 = time.perf_counter()
                prepare_deep(tset, cache, progress=False, jobs=jobs)
                times.append(time.perf_counter() - t0)
            medians[jobs] = sorted(times)[len(times) // 2]
            what = "this process" if jobs == 1 else f"{jobs} one-thread worker processes (chunks of {chunk})"
            print(f"{args.net} layers {args.layers}, {args.images} images, {what}: median {medians[jobs]:.1f} s, "
                  f"{args.images / medians[jobs]:.2f} images/s ({args.repeats} runs)")
        print(f"workers / one process: {medians[1] / medians[args.jobs]:.2f} x the rate")


if __name__ == "__main__":
    main()
