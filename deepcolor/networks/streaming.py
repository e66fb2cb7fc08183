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
   as in memory; the cosine learning-rate schedule is the same.

The result differs from the in-memory training only in the minibatches' composition
(samples are shuffled within blocks of images, not across the whole cluster); memory is
one block (``block_images`` x 1000 samples x D floats, about 90 MB at 256 images) plus
the network.
"""

import math

import numpy as np

from deepcolor.core.settings import TrainSettings
from deepcolor.networks.chroma import ChromaNetwork, _build, default_device, hidden_units

__all__ = ["train_network_streaming"]

#: Images per block read from the store (about 90 MB of float32 samples at D = 89).
BLOCK_IMAGES = 256


def _blocks(order, size):
    for start in range(0, len(order), size):
        yield order[start:start + size]


def _moments(source, n_images, block_images):
    """``(mean, std, rows, dim)`` over every sample of ``source`` (std floored as in memory)."""
    shift = total = sq = None
    rows = 0
    for block in _blocks(np.arange(n_images), block_images):
        feats, _ = source.load(block)
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
    return (shift + mean_shifted).astype(np.float32), std.astype(np.float32), rows, len(shift)


def train_network_streaming(source, *, hidden=None, layers=3, epochs=TrainSettings.epochs,
                            batch_size=TrainSettings.batch_size, lr=TrainSettings.lr, seed=0, device=None,
                            block_images=BLOCK_IMAGES, progress=None):
    """Train one network on the samples of ``source``'s images, a block of images at a time.

    Parameters
    ----------
    source : object with ``__len__`` (images) and ``load(indices) -> (feats (n, D), targets (n, 2))``
        The cluster's images in the feature store; ``indices`` are positions 0..len-1.
    hidden, layers, epochs, batch_size, lr, seed, device, progress
        As :func:`deepcolor.networks.chroma.train_network`.
    block_images : int
        Images per block (memory: their samples, standardized).

    Returns
    -------
    ChromaNetwork
    """
    import torch

    n_images = len(source)
    if n_images == 0:
        raise ValueError("no training images")
    block_images = max(1, int(block_images))
    mean, std, n, dim = _moments(source, n_images, block_images)
    device = device or default_device()
    hidden = hidden or hidden_units(dim)
    torch.manual_seed(seed)
    net = _build(dim, hidden, layers).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    batch_size = max(1, min(int(batch_size), n))
    total = max(1, epochs * math.ceil(n / batch_size))
    min_lr = lr / 20.0
    gen = torch.Generator().manual_seed(seed)
    history = []
    step = 0
    net.train()

    def run(x, y):
        nonlocal step
        for group in opt.param_groups:
            group["lr"] = min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * step / total))
        loss = ((net(x) - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        return float(loss.detach()) * x.shape[0]

    for epoch in range(epochs):
        order = torch.randperm(n_images, generator=gen).numpy()
        carry_x = carry_y = None
        total_loss = 0.0
        for block in _blocks(order, block_images):
            feats, targets = source.load(block)
            x = torch.from_numpy((np.asarray(feats, dtype=np.float32) - mean) / std)
            y = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))
            if carry_x is not None:
                x, y = torch.cat([carry_x, x]), torch.cat([carry_y, y])
            perm = torch.randperm(x.shape[0], generator=gen)
            x, y = x[perm].to(device), y[perm].to(device)
            full = (x.shape[0] // batch_size) * batch_size
            for start in range(0, full, batch_size):
                total_loss += run(x[start:start + batch_size], y[start:start + batch_size])
            carry_x, carry_y = x[full:].cpu(), y[full:].cpu()
        if carry_x is not None and carry_x.shape[0]:
            total_loss += run(carry_x.to(device), carry_y.to(device))
        history.append(total_loss / n)
        if progress is not None:
            progress(epoch, history[-1])
    net.eval()
    config = {"epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "min_lr": float(min_lr),
              "optimizer": "adam", "schedule": "cosine", "seed": int(seed), "samples": int(n),
              "streamed": {"block_images": block_images}}
    return ChromaNetwork(net, mean, std, history, config, device)
