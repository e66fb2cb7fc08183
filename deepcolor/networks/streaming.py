"""Training a cluster network from samples that stay on disk: memory independent of the cluster's size.

:func:`deepcolor.networks.chroma.train_network` holds a cluster's samples in memory twice
(as given and standardized): 1000 samples x 89 floats per image, about 0.7 GB for a
cluster of 1000 images. On a large reference set (ImageNet: 50 000 images per cluster of
24) that does not fit, so a cluster above a size (:class:`TrainSettings`'s
``stream_rows``) trains here instead, reading its images' samples from the feature store
in blocks:

1. one pass over the images accumulates the per-feature mean and standard deviation (in
   float64, shifted by the first block's mean so that the sum of squares does not cancel);
2. each epoch visits the images in a fresh seeded order, ``block_images`` at a time; a
   block's samples are standardized and shuffled, and cut into minibatches; the rows
   that do not fill the block's last minibatch are carried into the next block, so every
   minibatch but the epoch's last is full and an epoch has ``ceil(n / batch_size)`` steps,
   as in memory; the cosine learning-rate schedule is the same;
3. with a ``checkpoint`` file, the training state is written there after each epoch but the
   last (:mod:`deepcolor.networks.epoch_state`), and a training that finds the state of the
   same run there goes on from it: a killed run loses at most the epoch it was in.

The result differs from the in-memory training only in the minibatches' composition
(samples are shuffled within blocks of images, not across the whole cluster); memory is
one block (``block_images`` x 1000 samples x D floats, about 90 MB at 256 images) plus
the network.
"""

import hashlib
import json
import math

import numpy as np

from deepcolor.core.settings import ColorizeSettings, TrainSettings
from deepcolor.networks.bins import chroma_bins
from deepcolor.networks.chroma import (ChromaNetwork, _build, check_bins, default_device, fit_loss, fitted_form,
                                       hidden_units, image_weights)
from deepcolor.networks.epoch_state import load_epoch_state, save_epoch_state

__all__ = ["load_samples", "train_network_streaming"]

#: Images per block read from the store (about 90 MB of float32 samples at D = 89).
BLOCK_IMAGES = 256

#: With ``bins``, the moments' pass keeps this many random targets of each block for the
#: bins' k-means (which reads at most 200 000 of them).
BIN_SAMPLES_PER_BLOCK = 8192


def _blocks(order, size):
    for start in range(0, len(order), size):
        yield order[start:start + size]


def _read_ahead(source, blocks, image_weight, prefetch):
    """:func:`load_samples` of each of ``blocks`` in turn; with ``prefetch``, the next block is
    read in a background thread while the caller works on the current one. Reading is most
    of a streamed epoch (two cache files and the image for the context features per image,
    against a one-thread MLP step), so on two cores the two overlap; the blocks and their
    order are the same either way, and so is the network."""
    blocks = list(blocks)
    if not prefetch:
        for block in blocks:
            yield load_samples(source, block, image_weight)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="deepcolor-read-ahead") as pool:
        pending = pool.submit(load_samples, source, blocks[0], image_weight) if blocks else None
        for position in range(len(blocks)):
            ready = pending.result()
            pending = pool.submit(load_samples, source, blocks[position + 1], image_weight) \
                if position + 1 < len(blocks) else None
            yield ready


def load_samples(source, block, image_weight=0.0):
    """``(feats, targets, weights)`` of the images of ``source`` at positions ``block``;
    ``weights`` None without ``image_weight``, else :func:`~deepcolor.networks.chroma.image_weights`'
    with that offset (the images then read one by one, to know each one's samples)."""
    if not image_weight:
        return (*source.load(block), None)
    parts = [source.load([p]) for p in block]
    targets = np.concatenate([t for _, t in parts])
    return (np.concatenate([f for f, _ in parts]), targets,
            image_weights(targets, [len(t) for _, t in parts], image_weight))


def _moments(source, n_images, block_images, image_weight=0.0, target_sample=None, prefetch=True):
    """``(mean, std, rows, dim, mean weight)`` over every sample of ``source`` (std floored
    as in memory; the weight's mean is 1 without ``image_weight``); with a ``target_sample``
    list and a random generator ``(list, rng)``, a random subset of each block's targets is
    appended to the list."""
    shift = total = sq = None
    rows = 0
    weight_sum = 0.0
    for feats, targets, weights in _read_ahead(source, _blocks(np.arange(n_images), block_images), image_weight,
                                               prefetch):
        if target_sample is not None and len(targets):
            kept, rng = target_sample
            kept.append(np.asarray(targets, np.float32)[
                rng.choice(len(targets), min(len(targets), BIN_SAMPLES_PER_BLOCK), replace=False)])
        weight_sum += len(feats) if weights is None else float(weights.sum())
        x = np.asarray(feats, dtype=np.float64)
        if shift is None:
            shift = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
            total = np.zeros_like(shift)
            sq = np.zeros_like(shift)
        d = x - shift
        total += d.sum(axis=0)
        sq += (d * d).sum(axis=0)
        rows += len(x)
    if not rows:
        raise ValueError("no training samples")
    mean_shifted = total / rows
    std = np.sqrt(np.maximum(sq / rows - mean_shifted ** 2, 0.0))
    std = np.where(std < 1e-6, 1.0, std)
    return (shift + mean_shifted).astype(np.float32), std.astype(np.float32), rows, len(shift), weight_sum / rows


def train_network_streaming(source, *, hidden=None, layers=3, epochs=TrainSettings.epochs,
                            batch_size=TrainSettings.batch_size, lr=TrainSettings.lr, seed=0, device=None,
                            block_images=BLOCK_IMAGES, progress=None, dropout=0.0, image_weight=0.0, bins=0,
                            temperature=ColorizeSettings.temperature, checkpoint=None, checkpoint_key="",
                            prefetch=True):
    """Train one network on the samples of ``source``'s images, a block of images at a time.

    Parameters
    ----------
    source : object with ``__len__`` (images) and ``load(indices) -> (feats (n, D), targets (n, 2))``
        The cluster's images in the feature store; ``indices`` are positions 0..len-1.
    hidden, layers, epochs, batch_size, lr, seed, device, progress, dropout, bins, temperature
        As :func:`deepcolor.networks.chroma.train_network`; the bins are the k-means centres
        of a random subset of the targets (up to 8192 of each block's, read with the moments).
    image_weight : float
        > 0: each image's samples weighted by :func:`~deepcolor.networks.chroma.image_weights`
        with this offset, scaled to mean 1 over the cluster, as ``sample_weight`` in memory;
        0: all equal (the paper's loss).
    block_images : int
        Images per block (memory: their samples, standardized).
    checkpoint : str, optional
        A file for the state after each epoch but the last; when it holds the state of this
        run (same ``checkpoint_key`` and settings), the training goes on from it and ends
        with the weights an uninterrupted run ends with. The caller removes it when the
        network is saved.
    checkpoint_key : str
        A digest of the data (``source``'s images and features); the state of another
        key is not used.
    prefetch : bool
        Read the next block in a background thread while training on the current one
        (``source.load`` must allow a call from another thread); False reads them in turn.
        The network is the same.

    Returns
    -------
    ChromaNetwork
    """
    import torch

    n_images = len(source)
    if n_images == 0:
        raise ValueError("no training images")
    block_images = max(1, int(block_images))
    if not 0 <= dropout < 1 or image_weight < 0:
        raise ValueError(f"need 0 <= dropout < 1 and image_weight >= 0, got {dropout} and {image_weight}")
    check_bins(bins, temperature)
    device = device or default_device()
    fingerprint = hashlib.sha256(json.dumps(
        {"key": checkpoint_key, "images": n_images, "hidden": hidden, "layers": layers, "epochs": epochs,
         "batch_size": batch_size, "lr": lr, "seed": seed, "block_images": block_images, "dropout": dropout,
         "image_weight": image_weight, "bins": bins, "device": str(device)}, sort_keys=True).encode()).hexdigest()
    resumed = load_epoch_state(checkpoint, fingerprint) if checkpoint else None
    if resumed is not None:  # the moments' pass and the bins are the state's
        mean, std, centres = resumed["mean"], resumed["std"], resumed["centres"]
        n, mean_weight, dim = resumed["meta"]["rows"], resumed["meta"]["mean_weight"], len(resumed["mean"])
    else:
        kept = [] if bins else None
        mean, std, n, dim, mean_weight = _moments(source, n_images, block_images, image_weight,
                                                  None if kept is None else (kept, np.random.default_rng(seed)),
                                                  prefetch)
        centres = chroma_bins(np.concatenate(kept), bins, seed) if bins else None
        del kept
    centres_t = None if centres is None else torch.from_numpy(centres).to(device)
    hidden = hidden or hidden_units(dim)
    torch.manual_seed(seed)
    net = _build(dim, hidden, layers, bins or 2).to(device)
    fitted = fitted_form(net, dropout)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    batch_size = max(1, min(int(batch_size), n))
    total = max(1, epochs * math.ceil(n / batch_size))
    min_lr = lr / 20.0
    gen = torch.Generator().manual_seed(seed)
    history = []
    step = first_epoch = 0
    if resumed is not None:
        net.load_state_dict(resumed["net"])
        opt.load_state_dict(resumed["opt"])
        gen.set_state(resumed["generator"])
        torch.set_rng_state(resumed["rng_state"])
        if resumed["cuda_rng_state"] is not None:
            torch.cuda.set_rng_state(resumed["cuda_rng_state"], device)
        step, first_epoch = resumed["meta"]["step"], resumed["meta"]["epochs_done"]
        history = list(resumed["meta"]["history"])
        for epoch, loss in enumerate(history):  # a progress bar counts the epochs done before
            if progress is not None:
                progress(epoch, loss)
    fitted.train()

    def run(x, y, w):
        nonlocal step
        for group in opt.param_groups:
            group["lr"] = min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * step / total))
        loss = fit_loss(fitted(x), y, w, centres_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        return float(loss.detach()) * x.shape[0]

    for epoch in range(first_epoch, epochs):
        order = torch.randperm(n_images, generator=gen).numpy()
        carry = None  # (x, y, w) rows that did not fill the last block's minibatch
        total_loss = 0.0
        for feats, targets, weights in _read_ahead(source, _blocks(order, block_images), image_weight, prefetch):
            x = torch.from_numpy((np.asarray(feats, dtype=np.float32) - mean) / std)
            y = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))
            w = None if weights is None else torch.from_numpy((weights / mean_weight).astype(np.float32))
            if carry is not None:
                x, y = torch.cat([carry[0], x]), torch.cat([carry[1], y])
                w = None if w is None else torch.cat([carry[2], w])
            perm = torch.randperm(x.shape[0], generator=gen)
            x, y = x[perm].to(device), y[perm].to(device)
            w = None if w is None else w[perm].to(device)
            full = (x.shape[0] // batch_size) * batch_size
            for start in range(0, full, batch_size):
                part = slice(start, start + batch_size)
                total_loss += run(x[part], y[part], None if w is None else w[part])
            carry = (x[full:].cpu(), y[full:].cpu(), None if w is None else w[full:].cpu())
        if carry is not None and carry[0].shape[0]:
            total_loss += run(*(None if t is None else t.to(device) for t in carry))
        history.append(total_loss / n)
        if checkpoint and epoch + 1 < epochs:
            save_epoch_state(checkpoint, fingerprint, epochs_done=epoch + 1, step=step, history=history, net=net,
                             optimizer=opt, generator=gen, mean=mean, std=std, centres=centres, rows=n,
                             mean_weight=mean_weight, device=device)
        if progress is not None:
            progress(epoch, history[-1])
    net.eval()
    config = {"epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "min_lr": float(min_lr),
              "optimizer": "adam", "schedule": "cosine", "seed": int(seed), "samples": int(n),
              "streamed": {"block_images": block_images}}
    if image_weight:
        config["image_weight"] = float(image_weight)
    if dropout:
        config["dropout"] = float(dropout)
    if bins:
        config["loss"] = "cross-entropy"
    return ChromaNetwork(net, mean, std, history, config, device, centres, temperature)
