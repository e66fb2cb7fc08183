"""A streamed network's epoch on real cached samples: reading the blocks in turn against
reading the next one in a background thread (``train_network_streaming``'s ``prefetch``).

Usage::

    python benchmarks/bench_streaming_read.py --data ROOT --model MODEL \\
        --datasets siftflow:train sun:extra general:train [--images 1024] [--repeats 3]

``MODEL`` is a (partly) trained model folder: ``checkpoints/train_state.json`` gives the run's
images and settings, its ``parser/`` (``--parser`` while a training has not copied it there
yet) and, for a model with deep features, its stored PCA
(``features/alexnet_projection.safetensors``). The first ``--images`` of the run's images
whose samples are all in the cache are read as training reads them
(:meth:`deepcolor.data.training_set.TrainingSet.source`: the paper's features, the context
features from the image, the projected deep vectors). Timed, each ``--repeats`` times on the
same images: reading every block alone, then the second of two epochs of the run's network
(its hidden size, batch, learning rate, dropout, bins) reading in turn and reading ahead. The
medians and the ratio of the two epochs' rates are printed, measured in the same run.
"""

import argparse
import os
import time

import numpy as np

from _common import print_calibration, run_records


def _training_set(data, model, datasets, wanted, cache, parser=None):
    from safetensors.numpy import load_file

    from deepcolor.core.paths import cache_dir
    from deepcolor.data.cache import FeatureCache
    from deepcolor.pipeline.training_set import deep_cache_key, feature_config, prepare

    state, records = run_records(data, model, datasets)
    settings = state["settings"]
    parser = parser or os.path.join(model, "parser")
    config = feature_config(settings["samples"], settings["seed"], settings["semantic"], parser,
                            settings.get("context", False), bool(settings.get("alexnet")),
                            settings.get("alexnet_layers", "5"), settings.get("deep_net", "alexnet"))
    cache = FeatureCache(cache_dir(cache, "features"))
    projection = None
    if config.alexnet:
        stored = load_file(os.path.join(model, "features", "alexnet_projection.safetensors"))
        projection = (stored["mean"], stored["components"])
    chosen = []
    for name in state["images"]:  # only images whose deep entry is cached: nothing is computed here
        record = records[name]
        if projection is None or cache.has(deep_cache_key(record.path, record.name, config, projection)):
            chosen.append(record)
        if len(chosen) == wanted:
            break
    tset = prepare(chosen, config, cache, parser=parser, jobs=1, progress=False)
    if tset.failed or len(tset) < wanted:
        raise SystemExit(f"{wanted} images with cached samples wanted, {len(tset) - len(tset.failed)} found")
    if projection is not None:
        tset.deep_projection = projection
        tset.deep_keys = [deep_cache_key(p, n, config, projection) for p, n in zip(tset.paths, tset.names)]
        tset.deep_projected = True
    return settings, tset


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--model", required=True)
    ap.add_argument("--datasets", nargs="+", required=True)
    ap.add_argument("--cache")
    ap.add_argument("--parser", help="the run's parser folder, when the model has none yet (default MODEL/parser)")
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if args.images < 1 or args.repeats < 1:
        ap.error("--images and --repeats must be positive")
    import torch

    from deepcolor.networks.streaming import BLOCK_IMAGES, _blocks, load_samples, train_network_streaming

    torch.set_num_threads(1)  # as a training's network: one thread (bench_network_threads.py)
    print_calibration()
    settings, tset = _training_set(args.data, args.model, args.datasets, args.images, args.cache, args.parser)
    source = tset.source(range(len(tset)))
    fit = dict(hidden=settings.get("hidden") or None, epochs=2, batch_size=settings["batch_size"], lr=settings["lr"],
               seed=0, device="cpu", dropout=settings.get("dropout", 0.0), bins=settings.get("bins", 0),
               temperature=1.0)
    times = {"read only": [], "in turn": [], "read ahead": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for block in _blocks(np.arange(len(source)), BLOCK_IMAGES):
            load_samples(source, block)
        times["read only"].append(time.perf_counter() - t0)
        for what, prefetch in (("in turn", False), ("read ahead", True)):
            ends = []
            train_network_streaming(source, prefetch=prefetch,
                                    progress=lambda epoch, loss: ends.append(time.perf_counter()), **fit)
            times[what].append(ends[1] - ends[0])
    medians = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    rows = len(tset) * settings["samples"]
    for what, median in medians.items():
        print(f"{what}: {len(tset)} images ({rows} samples), median {median:.1f} s, "
              f"{len(tset) / median:.0f} images/s ({args.repeats} runs)")
    print(f"an epoch reading ahead / in turn: {medians['in turn'] / medians['read ahead']:.2f} x the rate")


if __name__ == "__main__":
    main()
