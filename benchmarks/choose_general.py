"""Epochs and samples per image for a larger reference set, chosen on held-out images.

    python benchmarks/choose_general.py --data ROOT --model MODEL --clusters L0_C000,L0_C012
        [--dataset siftflow:train sun:extra general:train] [--epochs 5,10,20] [--samples 250,500,1000]
        [--every 10] [--cache DIR] -o choose_general.json

For each named top-layer cluster of a trained (or partly trained) model, every ``--every``-th
member image (by name) is held out; one network per (samples, epochs) pair is trained on
the other members' cached features, the paper's network and training settings otherwise
(:func:`deepcolor.networks.train_network`, seed 0), with ``samples`` of each image's cached
pixels drawn at random (seeded); each network's mean squared chroma error on every cached
pixel of the held-out images is reported, with its training time. A proxy for the test
images' PSNR that needs no colorization: the same pixels, features and targets the
training judges by. Nothing here reads a test list.

    python benchmarks/choose_general.py summarize OUT1.json [OUT2.json ...]

prints, for each (samples, epochs) pair run on every cluster of the files, the held-out
error relative to the paper's setting (1000 samples, 10 epochs) in each cluster, and the
geometric mean over the clusters.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def _held_out_last(members, every):
    """The members sorted by name, every ``every``-th (the first included) moved to the end."""
    members = sorted(members)
    held = set(members[::every])
    return [m for m in members if m not in held] + members[::every]


def _subsample(feats, targets, per_image, samples, seed):
    """``samples`` random rows of each image's ``per_image`` rows (images are consecutive blocks)."""
    rng = np.random.default_rng(seed)
    n_images = len(feats) // per_image
    rows = np.concatenate([i * per_image + np.sort(rng.choice(per_image, samples, replace=False))
                           for i in range(n_images)])
    return feats[rows], targets[rows]


def summarize(paths):
    clusters = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            clusters.update(json.load(handle)["clusters"])
    tables = {name: {(r["samples"], r["epochs"]): r["held_out_mse"] for r in c["runs"]} for name, c in clusters.items()}
    base = (1000, 10)
    tables = {n: t for n, t in tables.items() if base in t}
    pairs = sorted(set.intersection(*(set(t) for t in tables.values())))
    names = sorted(tables)
    print(f"held-out MSE relative to samples {base[0]}, epochs {base[1]} (below 1: better); "
          f"{len(names)} clusters: {', '.join(names)}")
    print("samples epochs  " + " ".join(f"{n[-4:]:>6}" for n in names) + "  geo-mean")
    for pair in pairs:
        ratios = [tables[n][pair] / tables[n][base] for n in names]
        print(f"{pair[0]:7d} {pair[1]:6d}  " + " ".join(f"{r:6.3f}" for r in ratios)
              + f"  {float(np.exp(np.mean(np.log(ratios)))):8.3f}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["summarize"]:
        return summarize(argv[1:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True)
    p.add_argument("--clusters", required=True)
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--epochs", default="5,10,20")
    p.add_argument("--samples", default="250,500,1000")
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--cache")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)

    import torch

    from deepcolor.networks import train_network

    torch.set_num_threads(1)
    epochs = [int(e) for e in args.epochs.split(",")]
    samples = [int(s) for s in args.samples.split(",")]
    results = {"model": os.path.abspath(args.model), "every": args.every, "clusters": {}}
    for name in args.clusters.split(","):
        settings, _, tset = _common.cluster_training_set(args.data, args.model, name, args.dataset,
                                                         order=lambda m: _held_out_last(m, args.every), cache=args.cache)
        per_image = settings["samples"]
        n_held = -(-len(tset) // args.every)  # every k-th of the sorted members, the first included
        train, held = tset.names[:-n_held], tset.names[-n_held:]
        feats, targets = tset.samples(range(len(train)))
        held_feats, held_targets = tset.samples(range(len(train), len(train) + len(held)))
        rows = []
        for s in samples:
            x, y = _subsample(feats, targets, per_image, s, seed=1) if s < per_image else (feats, targets)
            for e in epochs:
                start = time.perf_counter()
                net = train_network(x, y, epochs=e, batch_size=settings["batch_size"], lr=settings["lr"], seed=0,
                                    device="cpu")
                seconds = time.perf_counter() - start
                mse = float(np.mean((net.predict(held_feats) - held_targets) ** 2))
                rows.append({"samples": s, "epochs": e, "held_out_mse": mse, "train_seconds": seconds})
                print(f"{name}: {len(train)} training / {len(held)} held-out images; samples {s:4d}, epochs {e:2d}: "
                      f"held-out MSE {mse:.6f}, {seconds:.0f} s", flush=True)
        results["clusters"][name] = {"train_images": len(train), "held_out_images": len(held), "runs": rows}
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
