"""Chroma bins: a network's output as a distribution over colours, read back by an annealed mean.

The paper's network regresses U and V under the squared error, so where a pixel's features
do not decide its colour (a shirt, a car, a parrot) it predicts the mean of the colours they
allow, which is dull. Later colorization papers (Zhang, Isola and Efros, "Colorful Image
Colorization", ECCV 2016; Larsson, Maire and Shakhnarovich, ECCV 2016) predict instead a
probability for each of K chroma bins, fitted by cross-entropy, and read it back with an
*annealed mean*: the bins' chroma weighted by the probabilities raised to 1/T and
renormalized. T = 1 gives the distribution's mean, T -> 0 its most likely bin; Zhang et al.
use 0.38.

Here the bins are the k-means centres of a network's training chroma (U/255, V/255), so
each network has its own (stored with its weights). The choice and its measurements on
held-out photos are in ``benchmarks/general_vgg_bins.py`` (ours, not the paper's).
"""

import numpy as np

__all__ = ["annealed_mean", "chroma_bins", "nearest_bins"]

#: Training chroma k-means reads at most this many samples (a random subset).
KMEANS_SAMPLES = 200_000


def chroma_bins(targets, bins, seed=0):
    """The centres of ``bins`` chroma bins: k-means of the training targets' U, V.

    Parameters
    ----------
    targets : ndarray (n, 2) float, U/255 and V/255 of the training samples
    bins : int >= 2
    seed : int, seed of the subsample and of k-means

    Returns
    -------
    ndarray (bins, 2) float32
    """
    from sklearn.cluster import MiniBatchKMeans

    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim != 2 or targets.shape[1] != 2:
        raise ValueError(f"targets must have shape (n, 2), got {targets.shape}")
    if bins < 2 or targets.shape[0] < bins:
        raise ValueError(f"need at least 2 bins and as many samples as bins, got {bins} bins, {len(targets)} samples")
    rng = np.random.default_rng(seed)
    if targets.shape[0] > KMEANS_SAMPLES:
        targets = targets[rng.choice(targets.shape[0], KMEANS_SAMPLES, replace=False)]
    kmeans = MiniBatchKMeans(int(bins), random_state=seed, n_init=3).fit(targets)
    return kmeans.cluster_centers_.astype(np.float32)


def nearest_bins(targets, centres):
    """The index of each target's nearest centre: torch (n, 2), (K, 2) -> (n,) int64."""
    return ((targets[:, None, :] - centres[None, :, :]) ** 2).sum(dim=-1).argmin(dim=1)


def annealed_mean(logits, centres, temperature):
    """U, V read from bin logits (n, K) by the annealed mean at ``temperature`` -> (n, 2).

    Probabilities raised to 1/T and renormalized are the softmax of the logits divided by T.
    """
    import torch

    return torch.softmax(logits / temperature, dim=1) @ centres
