"""The networks run on a gray image: U, V at every pixel (:func:`predict_chroma`), and the
features they read (:func:`network_inputs`).

The networks run on a grid of every ``stride``-th row and column, band by band so that
large images never hold all their features at once, and U, V are interpolated between the
grid points; :mod:`deepcolor.pipeline.distribution` reads the same inputs for a bin model's
distribution over colours.
"""

import numpy as np

__all__ = ["blended", "members", "network_inputs", "predict_chroma", "run_on_grid", "upsample_grid"]


def predict_chroma(network, gray, probs=None, stride=1, context=None, deep=None):
    """U/255, V/255 at every pixel of ``gray``: (H, W, 2) float32, band by band.

    ``context`` appends the local context (:mod:`deepcolor.features.context`) to every
    pixel's features, as a model trained with ``--context`` expects; None: when the
    network's input is exactly 20 dims longer than the features (any other length is an
    error of :meth:`~deepcolor.networks.ChromaNetwork.predict`). ``deep``: the
    :class:`~deepcolor.features.alexnet.DeepMaps` of ``gray``, appended after the context,
    as a model trained with ``--alexnet`` expects (:meth:`Colorizer.network_chroma` passes them).

    ``network`` is one network or a list of them (or of lists: an ensemble cluster's); a
    list's predictions are averaged (:class:`deepcolor.networks.NetworkBlend`). With ``stride``
    > 1 the network runs only at every ``stride``-th row and column and U, V are interpolated
    bilinearly in between
    (exact at the grid points): chrominance is smooth and refined afterwards, and the
    networks are the costly part of colorization.
    """
    network = blended(network)
    (coarse,) = run_on_grid([network.predict], network.input_dim, gray, probs, stride, context, deep)
    return upsample_grid(coarse, gray.shape, stride)


def members(network):
    """The networks in ``network``: one network, or a list of them in which an ensemble
    cluster's list counts as its networks, as a flat list."""
    if not isinstance(network, (list, tuple)):
        return [network]
    return [m for n in network for m in (n if isinstance(n, (list, tuple)) else [n])]


def blended(network):
    """The one network to run for ``network``: itself, or the
    :class:`~deepcolor.networks.NetworkBlend` of a list's :func:`members`."""
    if not isinstance(network, (list, tuple)):
        return network
    from deepcolor.networks import NetworkBlend

    network = members(network)
    return network[0] if len(network) == 1 else NetworkBlend(network)


def run_on_grid(readers, input_dim, gray, probs=None, stride=1, context=None, deep=None):
    """Each of ``readers`` on the inputs of the ``stride`` grid of ``gray``, which are
    computed once, band by band (:func:`network_inputs`).

    Parameters
    ----------
    readers : list of callables, each (n, input_dim) float32 -> (n, width) float32
        A network's ``predict`` or ``distribution``, for instance; all read the same inputs.
    input_dim, gray, probs, stride, context, deep
        As for :func:`network_inputs`.

    Returns
    -------
    list of ndarray (ceil(h / stride), ceil(w / stride), width) float32, one per reader
    """
    stride = max(1, int(stride))
    shape = (-(-gray.shape[0] // stride), -(-gray.shape[1] // stride))
    grids = [None] * len(readers)
    for first, feats in network_inputs(input_dim, gray, probs, stride, context, deep):
        flat = feats.reshape(-1, feats.shape[-1])
        for i, read in enumerate(readers):
            out = read(flat)
            if grids[i] is None:
                grids[i] = np.empty(shape + (out.shape[1],), dtype=np.float32)
            grids[i][first:first + feats.shape[0]] = out.reshape(feats.shape[0], feats.shape[1], -1)
    return grids


def upsample_grid(coarse, shape, stride):
    """U, V (or any channels) on the ``stride`` grid brought to every pixel of ``shape``:
    bilinear between the grid points, exact at them; the grid itself for stride 1."""
    stride = max(1, int(stride))
    return coarse if stride == 1 else _upsample(coarse, shape, stride)


def network_inputs(input_dim, gray, probs=None, stride=1, context=None, deep=None):
    """The inputs of a network of ``input_dim`` inputs on the ``stride`` grid of ``gray``, band
    by band: yields ``(first grid row, features (rows, columns, input_dim) float32)``.

    The features are :func:`deepcolor.features.iter_feature_bands`' (patch, DAISY, semantic
    ``probs``), then the local context when ``context`` is true (None: when ``input_dim``
    leaves room for it), then the ``deep`` maps; :func:`predict_chroma` reads them.
    """
    from deepcolor.features import CONTEXT_DIMS, context_grid, context_maps, feature_dims, iter_feature_bands
    from deepcolor.features.alexnet import deep_grid

    if context is None:
        context = input_dim == (feature_dims(0 if probs is None else probs.shape[-1]) + CONTEXT_DIMS
                                + (deep.dims if deep is not None else 0))
    maps = context_maps(gray) if context else None
    for r0, r1, feats in iter_feature_bands(gray, semantic=probs, stride=stride):
        if feats.shape[0]:
            if maps is not None:
                feats = np.concatenate([feats, context_grid(maps, r0, r1, stride)], axis=-1)
            if deep is not None:
                feats = np.concatenate([feats, deep_grid(deep, r0, r1, stride)], axis=-1)
            yield -(-r0 // stride), feats  # the band's first grid row


def _upsample(coarse, shape, stride):
    """U, V on the full grid, bilinear between the ``stride`` grid points (exact at them).

    This is ``scipy.ndimage.map_coordinates(order=1, mode="nearest")`` at the coordinates
    ``(row / stride, column / stride)``. For the default stride 2 the weights are 0, 1/2
    and 1, so the same float64 sums (in scipy's order, over the four neighbours) are
    formed here with array slices, row band by row band: identical values, several times
    faster. Other strides call scipy.
    """
    h, w = shape
    out = np.empty((h, w, 2), dtype=np.float32)
    if stride != 2:
        from scipy.ndimage import map_coordinates

        yy, xx = np.meshgrid(np.arange(h) / stride, np.arange(w) / stride, indexing="ij")
        for c in range(2):
            out[..., c] = map_coordinates(coarse[..., c], [yy, xx], order=1, mode="nearest")
        return out
    padded = np.pad(coarse, ((0, 1), (0, 1), (0, 0)), mode="edge")  # "nearest" beyond the last grid point
    band = 128  # grid rows per band
    for g0 in range(0, coarse.shape[0], band):
        p = padded[g0:g0 + band + 1].astype(np.float64)
        here, right, below, diagonal = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]
        r0, r1 = 2 * g0, min(h, 2 * (g0 + here.shape[0]))
        rows_even, rows_odd = (r1 - r0 + 1) // 2, (r1 - r0) // 2
        cols_even, cols_odd = (w + 1) // 2, w // 2
        target = out[r0:r1]
        target[0::2, 0::2] = here[:rows_even, :cols_even]
        target[0::2, 1::2] = (here * 0.5 + right * 0.5)[:rows_even, :cols_odd]
        target[1::2, 0::2] = (here * 0.5 + below * 0.5)[:rows_odd, :cols_even]
        target[1::2, 1::2] = (here * 0.25 + right * 0.25 + below * 0.25 + diagonal * 0.25)[:rows_odd, :cols_odd]
    return out
