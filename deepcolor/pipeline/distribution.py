"""The colours a bin model hesitates between: its distribution over chroma at each pixel.

A network trained with ``--bins`` predicts at each pixel a probability for each of its
chroma bins, and colorization reads that back as one colour, the annealed mean
(:mod:`deepcolor.networks.bins`). Where the pixel's features do not decide (a shirt, a car,
a balloon) the distribution has several modes, and the one colour is one of them or a dull
compromise. The web app's palette offers the likeliest bins instead, most likely first, as the
SIGGRAPH 2017 system (Zhang et al., "Real-Time User-Guided Image Colorization with Learned
Deep Priors") suggests colours from its network's distribution at the clicked point.
"""

import dataclasses

import numpy as np

from deepcolor.pipeline.prediction import network_inputs

__all__ = ["ChromaDistribution", "chroma_distribution"]


@dataclasses.dataclass
class ChromaDistribution:
    """The bins' probabilities on a working image's ``stride`` grid.

    Attributes
    ----------
    probabilities : ndarray (ceil(h / stride), ceil(w / stride), K) float32
        Each grid point's probability of each bin (they sum to 1).
    centres : ndarray (K, 2) float32
        The bins' U/255, V/255. The bins of several networks are all listed, each
        network's probabilities divided by their number: the networks' mixture.
    stride : int
    """

    probabilities: np.ndarray
    centres: np.ndarray
    stride: int

    def at(self, row, col):
        """``(centres (K, 2), probabilities (K,))`` at the grid point nearest the working
        image's pixel ``(row, col)``, most likely first."""
        gh, gw = self.probabilities.shape[:2]
        r = min(gh - 1, max(0, int(row / self.stride + 0.5)))
        c = min(gw - 1, max(0, int(col / self.stride + 0.5)))
        p = self.probabilities[r, c]
        order = np.argsort(-p, kind="stable")
        return self.centres[order], p[order]


def chroma_distribution(networks, gray, probs=None, stride=1, context=None, deep=None):
    """The distribution over chroma that bin ``networks`` predict on ``gray``'s ``stride`` grid.

    Parameters
    ----------
    networks : ChromaNetwork, or a list of them (or of lists: an ensemble cluster's)
        Bin networks (trained with ``--bins``) of one input; several count alike, as
        :func:`~deepcolor.pipeline.prediction.predict_chroma` averages them.
    gray : ndarray (h, w) uint8, the working image
    probs, stride, context, deep
        The networks' inputs, as for :func:`~deepcolor.pipeline.prediction.predict_chroma`.

    Returns
    -------
    ChromaDistribution
    """
    if not isinstance(networks, (list, tuple)):
        networks = [networks]
    networks = [m for n in networks for m in (n if isinstance(n, (list, tuple)) else [n])]
    if not networks or not all(n.bins for n in networks):
        raise ValueError("a distribution over colours needs bin networks (trained with --bins)")
    if len({n.input_dim for n in networks}) != 1:
        raise ValueError("the networks read inputs of different lengths")
    stride = max(1, int(stride))
    h, w = gray.shape
    centres = np.concatenate([n.centres for n in networks])
    grid = np.empty((-(-h // stride), -(-w // stride), len(centres)), dtype=np.float32)
    for first, feats in network_inputs(networks[0].input_dim, gray, probs, stride, context, deep):
        flat = feats.reshape(-1, feats.shape[-1])
        p = np.concatenate([n.distribution(flat) for n in networks], axis=1) / len(networks)
        grid[first:first + feats.shape[0]] = p.reshape(feats.shape[0], feats.shape[1], -1)
    return ChromaDistribution(grid, centres, stride)
