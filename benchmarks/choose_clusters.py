"""The number of top-layer clusters (N0) for a larger reference set, chosen on held-out images.

    python benchmarks/choose_clusters.py --data ROOT --model MODEL --clusters 12,24,48,96
        [--dataset siftflow:train sun:extra general:train] [--every 10] [--hold-out name|class] [--cache DIR] -o choose_clusters.json

Reads a trained (or partly trained) model's images, feature settings and cached features
(the cache of its ``deepcolor train`` run). Every ``--every``-th image by name is held out
(or, with ``--hold-out class``, whole classes of the general set: :func:`held_out_split`).
For each N0, the other images' gists are clustered by k-means as the top layer of
Algorithm 3 (:func:`deepcolor.clustering.adaptive.kmeans`, seed 0), each cluster gets its
semantic histogram and one network trained on its members' cached pixels with the
model's epochs, batch size and learning rate (:func:`deepcolor.networks.train_network`,
seed 0). Each held-out image is then looked up as ``deepcolor colorize`` does
(:func:`deepcolor.clustering.hierarchy.lookup`: the 3 nearest gist centres compared by
semantic histogram, the networks of the blend averaged), and its chroma error is measured
on all its cached pixels. Reported per N0: the held-out mean squared error overall and per
dataset, and the same as a chroma PSNR (10 log10(1 / MSE), U and V in [0, 1] units). The
held-out images' PSNR after refinement is not measured: this is the pixels, features and
targets the training judges by, without colorizing. Nothing here reads a test list.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import _common  # (also sets OMP_WAIT_POLICY before torch starts OpenMP)


# Where a general-set source names its images' class: the index of that field in the
# file name split at "__" (the build script joins the source's folders with "__"). The
# other sources (UTKFace, All-Age-Faces, BSDS500) have no classes.
CLASS_FIELD = {"imagenette": 1, "imagewoof": 1, "caltech101": 1, "pacs_photo": 2, "clothing": 1,
               "dreambooth": 1, "fruitveg": 0, "facemask": 1}


def image_class(name):
    """The class of a ``general/...`` training image, e.g. ``imagenette:n01440764``, or None.

    None for the other datasets' images and for a general source without classes.
    """
    parts = name.split("/")
    if parts[0] != "general" or len(parts) < 3 or parts[1] not in CLASS_FIELD:
        return None
    fields = parts[-1].split("__")
    field = CLASS_FIELD[parts[1]]
    return f"{parts[1]}:{fields[field]}" if field < len(fields) - 1 else None


def held_out_split(names, every, by="name"):
    """Indices ``(train, held)`` of ``names``.

    ``by="name"``: every ``every``-th name in sorted order is held out. ``by="class"``: the
    general images that have a class (:func:`image_class`) are held out by whole classes,
    every ``every``-th class in sorted order, as the general test split is built (one photo
    per ImageNet class, the training sources' classes removed); the other images by name as
    with ``"name"`` (the scene sets' test lists share their training categories; the face
    sets have no classes).
    """
    order = sorted(range(len(names)), key=lambda i: names[i])
    if by == "name":
        held = set(order[::every])
    elif by == "class":
        classes = {i: image_class(names[i]) for i in order}
        chosen = set(sorted({c for c in classes.values() if c is not None})[::every])
        held = {i for i in order if classes[i] in chosen}
        held |= set([i for i in order if classes[i] is None][::every])
    else:
        raise ValueError(f"by must be 'name' or 'class', not {by!r}")
    return [i for i in range(len(names)) if i not in held], sorted(held)


def top_layer_model(tset, feats, targets, settings, train, n0):
    """A top-layer model trained on the images ``train`` (see the module docstring).

    Returns
    -------
    clusters : list of :class:`deepcolor.clustering.hierarchy.Cluster`, the k-means clusters of the training gists
    networks : list of :class:`deepcolor.networks.ChromaNetwork`, one per cluster
    labels : ndarray, the cluster of each training image
    """
    from deepcolor.clustering.adaptive import kmeans
    from deepcolor.clustering.hierarchy import Cluster
    from deepcolor.networks import train_network

    per_image = settings["samples"]
    centres, labels = kmeans(tset.gists[train], n0, seed=settings["seed"])
    clusters, nets = [], []
    for c in range(len(centres)):
        members = [train[j] for j in np.flatnonzero(labels == c)]
        hist = tset.histograms[members].mean(axis=0) if tset.histograms.shape[1] else np.zeros(0, np.float32)
        clusters.append(Cluster(0, c, centres[c], hist, [tset.names[m] for m in members]))
        rows = np.concatenate([np.arange(m * per_image, (m + 1) * per_image) for m in members])
        nets.append(train_network(feats[rows], targets[rows], epochs=settings["epochs"],
                                  batch_size=settings["batch_size"], lr=settings["lr"], seed=0, device="cpu"))
    return clusters, nets, labels


def networks_for(tset, clusters, nets, index):
    """The networks ``deepcolor colorize`` blends for image ``index``: the lookup among ``clusters``."""
    from deepcolor.clustering.hierarchy import lookup
    from deepcolor.core.settings import ColorizeSettings

    found = lookup(clusters, tset.gists[index], tset.histograms[index] if tset.histograms.shape[1] else None,
                   k=ColorizeSettings.lookup_k, blend=ColorizeSettings.blend)
    return [nets[c.index] for c in found.chosen]


def top_layer_predictions(tset, feats, targets, settings, train, held, n0):
    """Held-out chroma of a top-layer model trained on ``train`` (see the module docstring).

    Returns
    -------
    pred : ndarray, shape (len(held), S, 2), float32, the predictions at each held-out image's cached pixels
    labels : ndarray, the k-means cluster of each training image
    """
    per_image = settings["samples"]
    clusters, nets, labels = top_layer_model(tset, feats, targets, settings, train, n0)
    pred = np.empty((len(held), per_image, 2), np.float32)
    for h, i in enumerate(held):
        rows = slice(i * per_image, (i + 1) * per_image)
        pred[h] = np.mean([net.predict(feats[rows]) for net in networks_for(tset, clusters, nets, i)], axis=0)
    return pred, labels


def study(tset, settings, n0_values, every, log=print, by="name"):
    """Held-out chroma error per N0 (see the module docstring); a list of result dicts."""
    import torch

    torch.set_num_threads(1)
    train, held = held_out_split(tset.names, every, by)
    per_image = settings["samples"]
    start = time.perf_counter()
    feats, targets = tset.samples(range(len(tset)))
    log(f"{len(tset)} images read from the cache in {time.perf_counter() - start:.0f} s: "
        f"{len(train)} training, {len(held)} held out")
    truth = targets.reshape(len(tset), per_image, 2)[held]
    sets = sorted({n.split("/", 1)[0] for n in tset.names})
    results = []
    for n0 in n0_values:
        start = time.perf_counter()
        pred, labels = top_layer_predictions(tset, feats, targets, settings, train, held, n0)
        errors = ((pred - truth) ** 2).mean(axis=(1, 2))
        by_set = {s: float(np.mean([e for e, i in zip(errors, held) if tset.names[i].startswith(s + "/")]))
                  for s in sets}
        sizes = np.bincount(labels)
        row = {"n0": int(n0), "held_out_mse": float(errors.mean()), "by_dataset": by_set,
               "chroma_psnr": float(10 * np.log10(1 / errors.mean())),
               "cluster_sizes": [int(sizes.min()), int(np.median(sizes)), int(sizes.max())],
               "seconds": time.perf_counter() - start}
        results.append(row)
        log(f"N0 {n0:4d}: held-out MSE {row['held_out_mse']:.6f} (chroma PSNR {row['chroma_psnr']:.3f} dB); "
            + ", ".join(f"{s} {v:.6f}" for s, v in by_set.items())
            + f"; cluster sizes min/median/max {row['cluster_sizes']}; {row['seconds']:.0f} s")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True)
    p.add_argument("--clusters", default="12,24,48,96", help="N0 values, comma-separated")
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--hold-out", choices=("name", "class"), default="name",
                   help="hold out every --every-th image by name, or the general set's whole classes")
    p.add_argument("--cache")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    n0_values = [int(v) for v in args.clusters.split(",")]
    settings, tset = _common.model_training_set(args.data, args.model, None, args.dataset, args.cache)
    results = study(tset, settings, n0_values, args.every, log=lambda s: print(s, flush=True),
                    by=args.hold_out)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump({"model": os.path.abspath(args.model), "every": args.every, "hold_out": args.hold_out,
                   "settings": settings,
                   "results": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
