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

from deepcolor.pipeline.prediction import blended, members, run_on_grid, upsample_grid

__all__ = ["ChromaDistribution", "chroma_distribution", "distribution_reader", "predict_together"]


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
    read, centres, input_dim = distribution_reader(networks)
    (grid,) = run_on_grid([read], input_dim, gray, probs, stride, context, deep)
    return ChromaDistribution(grid, centres, max(1, int(stride)))


def distribution_reader(networks):
    """``(read, centres, input_dim)``: the function that gives bin ``networks``' mixture of
    probabilities for inputs (n, input_dim) -> (n, K), and the K bins' U/255, V/255 (each
    network's bins in turn, its probabilities divided by the number of networks).

    Raises
    ------
    ValueError
        A network is not a bin network, or they read inputs of different lengths.
    """
    networks = members(networks)
    if not networks or not all(n.bins for n in networks):
        raise ValueError("a distribution over colours needs bin networks (trained with --bins)")
    if len({n.input_dim for n in networks}) != 1:
        raise ValueError("the networks read inputs of different lengths")

    def read(flat):
        return np.concatenate([n.distribution(flat) for n in networks], axis=1) / len(networks)

    return read, np.concatenate([n.centres for n in networks]), networks[0].input_dim


def predict_together(chroma, distribution, gray, probs=None, stride=1, context=None, deep=None):
    """Several networks' chroma and bin networks' distribution from one computation of the
    inputs they all read (the web app's automatic colour and palette).

    Parameters
    ----------
    chroma : list
        Each item one network or a list of them, as
        :func:`~deepcolor.pipeline.prediction.predict_chroma` takes.
    distribution : bin networks as :func:`chroma_distribution` takes, or None
    gray, probs, stride, context, deep
        As for :func:`~deepcolor.pipeline.prediction.predict_chroma`.

    Returns
    -------
    (list of ndarray (h, w, 2) float32, ChromaDistribution or None)
        Each exactly what :func:`~deepcolor.pipeline.prediction.predict_chroma` and
        :func:`chroma_distribution` give alone.
    """
    runs = [blended(n) for n in chroma]
    readers = [n.predict for n in runs]
    # a bin model's one network gives its colour and its distribution from one run (the
    # web app's session asks for both); other networks run once for each
    joint = distribution is not None and _one_bin_network(chroma[0], distribution)
    if joint:
        readers[0], centres = runs[0].predict_with_distribution, runs[0].centres
    elif distribution is not None:
        read, centres, _ = distribution_reader(distribution)
        readers.append(read)
    grids = run_on_grid(readers, runs[0].input_dim, gray, probs, stride, context, deep)
    if joint:
        both = grids[0]
        grids = [np.ascontiguousarray(both[..., :2])] + grids[1:] + [np.ascontiguousarray(both[..., 2:])]
    maps = [upsample_grid(g, gray.shape, stride) for g in grids[:len(runs)]]
    found = ChromaDistribution(grids[-1], centres, max(1, int(stride))) if distribution is not None else None
    return maps, found


def _one_bin_network(network, distribution):
    """Whether ``network`` and ``distribution`` are the same single bin network."""
    a, b = members(network), members(distribution)
    return len(a) == 1 and len(b) == 1 and a[0] is b[0] and bool(a[0].bins)
