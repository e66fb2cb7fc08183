"""One cluster's networks, trained and judged (the ``trainer`` of :func:`deepcolor.pipeline.training.train_model`).

A cluster gets ``TrainSettings.ensemble`` networks (one unless ``--ensemble``), each saved as
soon as it is trained. Every network records a digest of what decided it (the cluster's
cached samples, the deep features' projection, the feature and training settings), so a
run takes a network file already in the model folder instead of training it again when its
digest and seed match: a resumed ``--ensemble 3`` cluster that was cut short loses only the
network that was training, a cluster killed while its members were judged keeps its
network, and ``--ensemble 3`` into a folder holding a one-network run's file trains only the
other two. A file whose digest or seed differs, or that cannot be read, is trained again.
"""

import dataclasses
import hashlib
import json
import os
import time

import numpy as np

from deepcolor.core.parallel import in_processes, on_resource, one_thread, parallel_jobs
from deepcolor.core.settings import ColorizeSettings
from deepcolor.pipeline.colorizer import colorize_with_network


def _deep_maps(gray, projection, config):
    from deepcolor.features.deep import net_maps, process_net

    return net_maps(config.deep_net, gray, process_net(config.deep_net), projection, config.alexnet_layers)


def judge_image(network, tset, index, refine="none", stride=1):
    """Training PSNR of image ``index`` of ``tset``: the full image colorized by ``network``
    (at every ``stride``-th pixel, interpolated in between), refined by ``refine``."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr

    rgb = load_rgb(tset.paths[index])
    gray = rgb2gray(rgb)
    pred = colorize_with_network(network, gray, tset.semantic(index, gray), refine, stride, tset.config.context,
                                 _deep_maps(gray, tset.deep_projection, tset.config) if tset.config.alexnet else None)
    return float(psnr(rgb, pred))


def run_key(tset, members, settings, streamed):
    """A digest of everything that decides a cluster's networks but their seeds: its
    images' cache entries (which encode the image and the feature settings), the deep
    features' projection, and the training settings that shape the network."""
    digest = hashlib.sha256()
    what = {"images": [tset.keys[i] for i in members],
            "deep": [tset.deep_keys[i] for i in members] if tset.deep_keys else None,
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(tset.config).items()},
            "training": {"hidden": settings.hidden, "epochs": settings.epochs, "batch_size": settings.batch_size,
                         "lr": settings.lr, "dropout": settings.dropout, "image_weight": settings.image_weight,
                         "streamed": bool(streamed)}}
    if settings.bins:  # only then: the keys of regression runs stay those of earlier versions
        what["training"]["bins"] = settings.bins  # (not the temperature: it only reads the trained networks)
    digest.update(json.dumps(what, sort_keys=True).encode("utf-8"))
    for array in tset.deep_projection or ():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def finished_network(path, key, seed, device):
    """The network at ``path`` when an earlier run of this cluster wrote it (same ``key``
    and ``seed``), else None (absent, unreadable, or another run's)."""
    from deepcolor.networks import ChromaNetwork

    if not os.path.isfile(path):
        return None
    try:
        network = ChromaNetwork.load(path, device=device)
    except ValueError:  # damaged: trained again
        return None
    if network.config.get("run_key") != key or network.config.get("seed") != seed:
        return None
    return network


def _cluster_job(task, tset, model_dir, settings, threads, device, epoch_bar=False,
                 temperature=ColorizeSettings.temperature, read_ahead=True):
    """Train (and judge) one cluster's network, or its ``settings.ensemble`` networks;
    ``epoch_bar``: show its epochs as a progress bar (in the main process, or in the worker that
    trains the layer's only network: one network on a large set trains for many minutes);
    ``temperature``: the colorization's, at which bin networks are judged; ``read_ahead``: a
    streamed network reads its next block in a thread (the one-thread network leaves a core
    for it, unless other clusters' jobs take it)."""
    import torch

    from deepcolor.clustering import cluster_name, layer_is_judged
    from deepcolor.networks import train_network
    from deepcolor.networks.streaming import load_samples, train_network_streaming

    # one thread per job: the MLP's matrices are small, and two threads on a shared
    # 2-core machine ran 4x slower than one in our measurements
    torch.set_num_threads(threads or 1)
    if threads == 1:  # a worker process: one core's share for the judging's features too
        one_thread()
    layer, index, members = task
    start = time.time()
    seed = settings.seed * 100003 + layer * 1009 + index
    bar = progress = None
    if epoch_bar:
        from tqdm import tqdm

        bar = tqdm(total=settings.epochs, desc=f"{cluster_name(layer, index)} epochs", unit="epoch", leave=False,
                   mininterval=0)  # every epoch is shown: they are few and long

        def progress(epoch, loss):
            bar.set_postfix(loss=f"{loss:.5f}", refresh=False)
            bar.update(1)
    streamed = len(members) * tset.config.samples > settings.stream_rows
    feats = targets = weights = None  # read once, when a network has to be trained in memory
    key = run_key(tset, members, settings, streamed)
    networks, rels = [], []
    for member in range(settings.ensemble):
        # the first network keeps the seed a one-network run uses; the others are its
        # equals from other seeds (initialisation and minibatch order)
        member_seed = seed + 7919 * member
        suffix = f"_s{member}" if member else ""
        rels.append(os.path.join("networks", f"{cluster_name(layer, index)}{suffix}.safetensors"))
        network = finished_network(os.path.join(model_dir, rels[-1]), key, member_seed, device)
        if network is not None:  # written by a run that was killed before the cluster's checkpoint
            networks.append(network.at_temperature(temperature) if network.bins else network)
            continue
        fit = dict(hidden=settings.hidden or None, epochs=settings.epochs, batch_size=settings.batch_size,
                   lr=settings.lr, seed=member_seed, device=device, progress=progress, dropout=settings.dropout,
                   bins=settings.bins, temperature=temperature)
        if streamed:  # long: its state after each epoch is kept in checkpoints/ until the network is saved
            state = os.path.join(model_dir, "checkpoints", "epochs", os.path.basename(rels[-1]))
            network = train_network_streaming(tset.source(members), image_weight=settings.image_weight,
                                              checkpoint=state, checkpoint_key=key, prefetch=read_ahead, **fit)
        else:
            if feats is None:
                feats, targets, weights = load_samples(tset.source(members), range(len(members)),
                                                       settings.image_weight)
            network = train_network(feats, targets, sample_weight=weights, **fit)
        network.config["run_key"] = key
        network.save(os.path.join(model_dir, rels[-1]))
        if streamed and os.path.isfile(state):
            os.remove(state)
        networks.append(network)
        if bar is not None and member + 1 < settings.ensemble:
            bar.reset()
    del feats, targets, weights
    if bar is not None:
        bar.close()
    if len(networks) > 1:
        from deepcolor.networks import NetworkBlend

        judged = NetworkBlend(networks)
    else:
        judged = networks[0]
    psnrs = [judge_image(judged, tset, i, settings.judge_refine, settings.judge_stride) for i in members] \
        if layer_is_judged(layer, settings.max_layers, settings.judge_last) else []
    result = {"network": rels[0], "psnrs": psnrs, "history": networks[0].history, "train_seconds": time.time() - start}
    if len(rels) > 1:
        result["ensemble"] = rels[1:]
    return task, result


def make_trainer(tset, model_dir, settings, jobs=1, device=None, progress=True,
                 temperature=ColorizeSettings.temperature):
    """The ``trainer`` callable of :func:`deepcolor.clustering.build_hierarchy` for a training set
    (``temperature``: :class:`ColorizeSettings`'s, the one bin networks are judged at)."""
    from tqdm import tqdm

    light = dataclasses.replace(tset, gists=np.zeros((0, 0), np.float32), histograms=np.zeros((0, 0), np.float32))

    def trainer(tasks):
        layer = tasks[0][0]
        bar = tqdm(total=len(tasks), desc=f"layer {layer} networks", unit="cluster", disable=not progress)
        # on a mixed Dask cluster the networks go to the workers started with --resources GPU=1
        with on_resource("GPU"):
            if in_processes(jobs):
                from joblib import Parallel, delayed

                # reading ahead pays when a network has a core to itself and a spare one: two
                # workers each reading ahead ran 0.96 to 0.99 times as fast as reading in turn
                # (bench_streaming_read.py, two at once), one alone 1.55 times
                alone = len(tasks) == 1
                results = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator_unordered", batch_size=1)(
                    delayed(_cluster_job)(t, light, model_dir, settings, 1, device, progress and alone,
                                          temperature, alone)
                    for t in tasks)
            else:
                results = (_cluster_job(t, light, model_dir, settings, None, device, progress, temperature)
                           for t in tasks)
            for item in results:
                bar.update(1)
                yield item
        bar.close()

    return trainer
