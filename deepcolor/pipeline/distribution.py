"""The colours a bin model hesitates between: its distribution over chroma at each pixel.

A network trained with ``--bins`` predicts at each pixel a probability for each of its
chroma bins, and colorization reads that back as one colour, the annealed mean
(:mod:`deepcolor.networks.bins`). Where the pixel's features do not decide (a shirt, a car,
a balloon) the distribution has several modes, and the one colour is one of them or a dull
compromise. The web app's palette offers the likeliest bins instead, most likely first, as the
SIGGRAPH 2017 system (Zhang et al., "Real-Time User-Guided Image Colorization with Learned
Deep Priors") suggests colours from its network's distribution at the clicked point.

The distribution can also be *pooled* over regions before the annealed mean reads it
(``--pooling``, :meth:`ChromaDistribution.pooled`): each grid point takes the geometric mean
of its neighbours' distributions, weighted by the domain transform's edge-aware filter
guided by the gray image, so that a region commits once, to the colours its points agree
on, instead of each point committing to its own likeliest colour and the refinement
averaging the disagreements into a dull mixture. Ours, not the paper's: chosen on held-out
photos of unseen ImageNet and Caltech-101 classes (``benchmarks/general_vgg_pooled.py``).
"""

import dataclasses

import numpy as np

from deepcolor.pipeline.prediction import blended, members, run_on_grid, upsample_grid

__all__ = ["POOLING_SIGMA_R", "ChromaDistribution", "chroma_distribution", "distribution_reader", "pooled_chroma",
           "predict_together"]

#: The pooling's edge weight: the release's domain transform's sigma_r (guide Y/255), so that a
#: region pools over the edges the chroma refinement stops at.
POOLING_SIGMA_R = 0.4


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

    def pooled(self, gray, sigma_s):
        """The distributions pooled over regions of the working image ``gray`` (h, w) uint8:
        at each grid point the normalized geometric mean of the grid's distributions,
        weighted by the domain transform's recursive filter (3 iterations; spatial sigma
        ``sigma_s`` working-image pixels, > 0; edges :data:`POOLING_SIGMA_R` on Y/255)
        guided by ``gray`` at the grid points. A new :class:`ChromaDistribution`."""
        from deepcolor.core.recursive_filter import recursive_filter

        stride = self.stride
        guide = gray[::stride, ::stride].astype(np.float32) / 255.0
        # on the grid, neighbours are stride working pixels apart: sigma_s in grid steps, and
        # the edge term scales alike, so the filter is the working image's at the grid points
        logs = recursive_filter(guide, np.log(np.maximum(self.probabilities, 1e-6)), sigma_s / stride,
                                POOLING_SIGMA_R, iterations=3, repeats=1)
        p = np.exp(logs - logs.max(axis=-1, keepdims=True))
        return ChromaDistribution((p / p.sum(axis=-1, keepdims=True)).astype(np.float32), self.centres, stride)

    def annealed(self, temperature):
        """U/255, V/255 at each grid point (gh, gw, 2) float32: the annealed mean at
        ``temperature`` (the bins' chroma weighted by the probabilities raised to 1 / T)."""
        logits = np.log(np.maximum(self.probabilities.astype(np.float64), 1e-30)) / float(temperature)
        w = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return ((w / w.sum(axis=-1, keepdims=True)) @ self.centres.astype(np.float64)).astype(np.float32)


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


def pooled_chroma(networks, gray, probs=None, stride=1, context=None, deep=None, *, pooling):
    """U/255, V/255 at every pixel of the working image ``gray`` (h, w, 2) float32: bin
    ``networks``' distribution (their mixture, :func:`chroma_distribution`) pooled over regions
    of spatial sigma ``pooling`` working pixels (:meth:`ChromaDistribution.pooled`), read by
    the annealed mean at the networks' temperature, and interpolated between the grid points
    as :func:`~deepcolor.pipeline.prediction.predict_chroma` does."""
    found = chroma_distribution(networks, gray, probs, stride, context, deep)
    return _read_pooled(found, gray, pooling, networks)


def _read_pooled(found, gray, pooling, networks):
    temperature = members(networks)[0].temperature  # a Colorizer reads all its networks at one
    return upsample_grid(found.pooled(gray, pooling).annealed(temperature), gray.shape, found.stride)


def _same_networks(a, b):
    a, b = members(a), members(b)
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def predict_together(chroma, distribution, gray, probs=None, stride=1, context=None, deep=None, pooling=0.0):
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
    pooling : float
        > 0: the items of ``chroma`` that are bin networks are read as :func:`pooled_chroma`
        reads them; an item of the same networks as ``distribution`` shares its pass.

    Returns
    -------
    (list of ndarray (h, w, 2) float32, ChromaDistribution or None)
        Each exactly what :func:`~deepcolor.pipeline.prediction.predict_chroma` (or
        :func:`pooled_chroma`) and :func:`chroma_distribution` give alone.
    """
    stride = max(1, int(stride))
    readers, how = [], []  # how: per chroma item, ("uv" | "pooled", index of its reader)
    for item in chroma:
        if pooling > 0 and all(m.bins for m in members(item)):
            read, centres, _ = distribution_reader(item)
            how.append(("pooled", len(readers), centres))
        else:
            read = blended(item).predict
            how.append(("uv", len(readers), None))
        readers.append(read)
    shared = None
    if distribution is not None:
        shared = next((h[1] for item, h in zip(chroma, how) if h[0] == "pooled" and _same_networks(item, distribution)),
                      None)
        if shared is None:
            read, centres, _ = distribution_reader(distribution)
            shared = len(readers)
            readers.append(read)
        else:
            centres = how[[h[1] for h in how].index(shared)][2]
    input_dim = members(chroma[0])[0].input_dim
    grids = run_on_grid(readers, input_dim, gray, probs, stride, context, deep)
    maps = []
    for item, (kind, i, item_centres) in zip(chroma, how):
        if kind == "pooled":
            maps.append(_read_pooled(ChromaDistribution(grids[i], item_centres, stride), gray, pooling, item))
        else:
            maps.append(upsample_grid(grids[i], gray.shape, stride))
    found = ChromaDistribution(grids[shared], centres, stride) if distribution is not None else None
    return maps, found
