"""Adaptive image clustering (paper, Algorithm 3), resumable.

::

    layer l = 0, Lambda = all reference images, N = N0
    while |Lambda| >= mu:
        k-means the images of Lambda into N clusters (on gist)
        for each cluster: semantic histogram; train its network
        for each image I of the cluster: if PSNR(I) >= 26 dB: remove I from Lambda
        l = l + 1; N = |Lambda| / mu

Two guards the paper does not need to state: the loop also stops when a layer removes no
image (it would otherwise repeat forever), and ``max_layers`` (optional) caps the depth.

The driver is independent of features and networks: a ``trainer`` callable trains the
networks of a list of clusters and judges their members. With a ``state_dir`` every layer's
k-means and every finished cluster are written at once as JSON, so a killed run resumed
with the same settings redoes nothing that finished.
"""

import json
import os

import numpy as np

from deepcolor.clustering.hierarchy import Cluster
from deepcolor.core.files import write_text
from deepcolor.core.settings import TrainSettings


#: Above this many images a layer's k-means is scikit-learn's MiniBatchKMeans on float32
#: gists (Sculley 2010): full k-means in float64 holds 4 KB per image and costs
#: images x clusters x 512 per iteration, and at ImageNet's size (1.28M images; the lower
#: layers have |Lambda| / mu, about 10,000, clusters) that is 5 GB and hours per layer.
#: At or below it (every set we trained, 24.5k images included) the full k-means is kept,
#: so those models are unchanged.
MINIBATCH_KMEANS_ABOVE = 200_000


def kmeans(gists, n_clusters, seed=0):
    """k-means of gist vectors: ``(centres (k, G) float32, labels (n,) int)``; k <= n.

    Full k-means (4 initialisations) up to :data:`MINIBATCH_KMEANS_ABOVE` images, minibatch
    k-means above it.
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans

    n = len(gists)
    big = n > MINIBATCH_KMEANS_ABOVE
    gists = np.asarray(gists, dtype=np.float32 if big else np.float64)
    k = int(max(1, min(int(n_clusters), n)))
    if k == 1:
        return gists.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32), np.zeros(n, dtype=np.int64)
    if big:
        # batches of at least 3 images per cluster, so every centre is updated in each step
        km = MiniBatchKMeans(n_clusters=k, batch_size=max(4096, 3 * k), n_init=3, random_state=int(seed)).fit(gists)
    else:
        km = KMeans(n_clusters=k, n_init=4, random_state=int(seed)).fit(gists)
    labels = km.labels_.astype(np.int64)
    # relabel by first appearance so the numbering is stable and every label is used
    centres = []
    remap = {}
    for lab in labels:
        if lab not in remap:
            remap[lab] = len(remap)
    labels = np.array([remap[l] for l in labels], dtype=np.int64)
    for new in range(len(remap)):
        centres.append(gists[labels == new].mean(axis=0, dtype=np.float64))
    return np.asarray(centres, dtype=np.float32), labels


def _write_json(path, obj):
    write_text(path, json.dumps(obj))


def _read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def layer_is_judged(layer, max_layers, judge_last=True):
    """Whether Algorithm 3 judges ``layer``: always, except the last layer ``max_layers``
    allows when ``judge_last`` is False (there no image goes on, so the judging decides nothing)."""
    return bool(judge_last) or not max_layers or layer + 1 < max_layers


def build_hierarchy(names, gists, histograms, trainer, *, n0=TrainSettings.clusters,
                    mu=TrainSettings.mu, min_psnr=TrainSettings.min_psnr, max_layers=None, seed=0,
                    judge_last=True, state_dir=None, log=None, on_layer=None):
    """Run Algorithm 3.

    Parameters
    ----------
    names : list of str, unique image names
    gists : ndarray (n, G)
    histograms : ndarray (n, N) per-image semantic histograms (N may be 0)
    trainer : callable(tasks) -> iterable of (task, result)
        ``tasks`` is a list of ``(layer, index, member_indices)``; for each it yields a dict
        ``{"network": file, "psnrs": [...], "history": [...], "train_seconds": s}`` with one
        PSNR per member, in any order; no PSNRs (an empty list) for a layer that is not judged.
    n0, mu, min_psnr, max_layers, seed : Algorithm 3's settings
    judge_last : bool, default True
        False: the layer ``max_layers`` stops at is not judged (its trainer returns no
        PSNRs; its clusters record none, and the layer's ``mean_psnr`` is None). There the
        judging decides nothing, since no image goes on to another layer.
    state_dir : str, optional; where layers/ and clusters/ JSON checkpoints go
    log : callable(str), optional
    on_layer : callable(clusters, layers), optional; called after each finished layer
        (e.g. to write a usable partial model)

    Returns
    -------
    clusters : list of Cluster, layer by layer
    layers : list of dict (per layer: images, clusters, removed)
    """
    log = log or (lambda message: None)
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError("image names must be unique")
    gists = np.asarray(gists, dtype=np.float32)
    histograms = np.asarray(histograms, dtype=np.float32).reshape(len(names), -1)
    remaining = np.arange(len(names))
    n_clusters = int(n0)
    clusters, layers = [], []
    layer = 0
    while len(remaining) >= mu or (layer == 0 and len(remaining) > 0):
        if max_layers and layer >= max_layers:
            log(f"stopping: reached --max-layers {max_layers}")
            break
        layer_file = os.path.join(state_dir, "layers", f"L{layer}.json") if state_dir else None
        lambda_names = [names[i] for i in remaining]
        if layer_file and os.path.isfile(layer_file):
            saved = _read_json(layer_file)
            if saved["images"] != lambda_names:
                raise ValueError(f"{layer_file}: the checkpoint's images differ from this run's; "
                                 "resume with the same data and settings, or start a new model directory")
            centres = np.asarray(saved["centres"], dtype=np.float32)
            labels = np.asarray(saved["labels"], dtype=np.int64)
        else:
            centres, labels = kmeans(gists[remaining], n_clusters, seed=seed + layer)
            if layer_file:
                _write_json(layer_file, {"layer": layer, "images": lambda_names, "n_clusters": int(len(centres)),
                                         "centres": centres.tolist(), "labels": labels.tolist()})
        log(f"layer {layer}: {len(remaining)} images in {len(centres)} clusters")
        judged = layer_is_judged(layer, max_layers, judge_last)
        layer_clusters = {}
        tasks = []
        for c in range(len(centres)):
            members = remaining[labels == c]
            hist = histograms[members].mean(axis=0) if histograms.shape[1] else np.zeros(0, np.float32)
            cl = Cluster(layer, c, centres[c], hist, [names[i] for i in members])
            ckpt = os.path.join(state_dir, "clusters", f"{cl.name}.json") if state_dir else None
            if ckpt and os.path.isfile(ckpt):
                done = Cluster.from_json(_read_json(ckpt))
                if done.members == cl.members and len(done.psnrs) == (len(done.members) if judged else 0):
                    layer_clusters[c] = done
                    continue
            layer_clusters[c] = cl
            tasks.append((layer, c, members))
        if len(tasks) < len(centres):
            log(f"layer {layer}: {len(centres) - len(tasks)} clusters already trained (resumed)")
        if tasks:
            for task, result in trainer(tasks):
                cl = layer_clusters[task[1]]
                cl.network = result["network"]
                cl.ensemble = list(result.get("ensemble", []))
                cl.psnrs = [float(p) for p in result["psnrs"]]
                cl.history = [float(h) for h in result.get("history", [])]
                cl.train_seconds = float(result.get("train_seconds", 0.0))
                if len(cl.psnrs) != (len(cl.members) if judged else 0):
                    raise RuntimeError(f"trainer returned {len(cl.psnrs)} PSNRs for {len(cl.members)} members of {cl.name}")
                if state_dir:
                    _write_json(os.path.join(state_dir, "clusters", f"{cl.name}.json"), cl.to_json())
        removed = set()
        for c in range(len(centres)):
            cl = layer_clusters[c]
            clusters.append(cl)
            for name, p in zip(cl.members, cl.psnrs):
                if p >= min_psnr:
                    removed.add(name)
        keep = np.array([names[i] not in removed for i in remaining], dtype=bool)
        layers.append({"layer": layer, "images": int(len(remaining)), "clusters": int(len(centres)),
                       "removed": int(len(removed)),
                       "mean_psnr": float(np.mean([p for c in layer_clusters.values() for p in c.psnrs]))
                       if judged else None})
        if judged:
            log(f"layer {layer}: {len(removed)} of {len(remaining)} images reached {min_psnr:g} dB and leave")
        else:
            log(f"layer {layer}: the last layer, not judged (--no-last-judging)")
        remaining = remaining[keep]
        if on_layer is not None:
            on_layer(list(clusters), list(layers))
        layer += 1
        if not removed:
            log("stopping: no image left this layer")
            break
        n_clusters = max(1, int(len(remaining) // mu))
    return clusters, layers
