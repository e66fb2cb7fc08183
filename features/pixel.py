"""The per-pixel feature vector of Deep Colorization (paper Sec. 3.2): patch, DAISY, semantic.

Layout of the ``81 + N`` dims of a pixel:

* ``[0, 49)``: the 7x7 patch / 255 (:mod:`deepcolor.features.patch`, MATLAB column-major order,
  outside entries = centre value);
* ``[49, 81)``: DAISY, centre histogram then the 3 ring histograms
  (:mod:`deepcolor.features.daisy`, per-histogram L2 normalization);
* ``[81, 81 + N)``: the N semantic class probabilities, when given (paper: N = 33).

Large images are processed in horizontal bands of output rows; each band reads only the
``BAND_MARGIN`` (21) extra rows above and below that the DAISY footprint needs (ring
offset 6 + Gaussian support 14 + 1 for the forward difference; the patch needs 3), so
the memory beyond the output is bounded by the band size, and the result is
bit-identical to processing the image at once (and does not depend on the band size).
"""

import numpy as np

from ._validate import check_coords, check_gray, check_semantic, gray_as_float32
from .daisy import BAND_MARGIN, DAISY_DIMS, daisy_points, daisy_rows, workspace
from .patch import PATCH_DIMS, _patch_points, _patch_rows

#: Dims of the patch + DAISY part (49 + 32 = 81).
LOW_MID_DIMS = PATCH_DIMS + DAISY_DIMS
#: Pixels per band when ``band_rows`` is not given (about 1 Mpx: ~80 MB of DAISY maps,
#: plus (81 + N) * 4 bytes per pixel for a yielded band).
BAND_PIXELS = 1 << 20


def _band_rows(band_rows, width):
    if band_rows is None:
        return max(64, BAND_PIXELS // max(1, width))
    band_rows = int(band_rows)
    if band_rows < 1:
        raise ValueError(f"band_rows must be >= 1, got {band_rows}")
    return band_rows


def _workspace(img, step):
    h, w = img.shape
    return workspace(min(h, step + 2 * BAND_MARGIN), w) if step < h else None


def _fill_band(img, semantic, r0, r1, out, work=None):
    """Features of image rows r0..r1-1 into ``out`` of shape (r1 - r0, W, 81 + N)."""
    _patch_rows(img, r0, r1, out, 0)
    daisy_rows(img, r0, r1, out, PATCH_DIMS, work=work)
    if semantic is not None:
        out[:, :, LOW_MID_DIMS:] = semantic[r0:r1]


def _prepare(gray, semantic):
    gray = check_gray(gray)
    semantic = check_semantic(semantic, gray.shape)
    return gray_as_float32(gray), semantic


def feature_dims(n_semantic=0):
    """Length of the feature vector: 81 + ``n_semantic``."""
    return LOW_MID_DIMS + int(n_semantic)


def iter_feature_bands(gray, semantic=None, band_rows=None, stride=1):
    """Per-pixel features band by band, never holding the full (H, W, 81 + N) array.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    semantic : ndarray, shape (H, W, N), float, optional
        Per-pixel class probabilities, appended as dims 81.. (cast to float32).
    band_rows : int, optional
        Output rows per band; default about 1 Mpx per band (``2**20 // W``, at least 64).
    stride : int, optional
        Only every ``stride``-th row and column (the grid ``[::stride, ::stride]``); the
        pixels off the grid are not computed at all.

    Returns
    -------
    iterator of (row_start, row_stop, feats)
        ``feats`` : ndarray, shape (row_stop - row_start, W, 81 + N), float32, a fresh
        array per band, equal to ``pixel_features(gray, semantic)[row_start:row_stop]``;
        with ``stride`` > 1 it holds only the band's grid rows and columns,
        ``pixel_features(gray, semantic)[row_start:row_stop][k::stride, ::stride]`` where
        row ``row_start + k`` is the band's first multiple of ``stride``.
        Bands cover rows 0..H in order. Inputs are validated on the call, not lazily.
    """
    img, semantic = _prepare(gray, semantic)
    step = _band_rows(band_rows, img.shape[1])
    stride = int(stride)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if stride == 1:
        return _bands(img, semantic, step)
    return _grid_bands(img, semantic, step, stride)


def _bands(img, semantic, step):
    h, w = img.shape
    dims = feature_dims(0 if semantic is None else semantic.shape[2])
    work = _workspace(img, step)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        out = np.empty((r1 - r0, w, dims), dtype=np.float32)
        _fill_band(img, semantic, r0, r1, out, work)
        yield r0, r1, out


def _grid_bands(img, semantic, step, stride):
    h, w = img.shape
    cols = np.arange(0, w, stride, dtype=np.int64)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        rows = np.arange(-(-r0 // stride) * stride, r1, stride, dtype=np.int64)
        rr, cc = np.repeat(rows, cols.size), np.tile(cols, rows.size)
        # band_rows = step: DAISY maps of exactly this band, computed once
        out = _points(img, semantic, rr, cc, step)
        yield r0, r1, out.reshape(rows.size, cols.size, -1)


def _points(img, semantic, rows, cols, band_rows):
    dims = feature_dims(0 if semantic is None else semantic.shape[2])
    out = np.empty((rows.shape[0], dims), dtype=np.float32)
    if rows.shape[0] == 0:
        return out
    _patch_points(img, rows, cols, out[:, None, :], 0)
    daisy_points(img, rows, cols, out, PATCH_DIMS, band_rows=band_rows)
    if semantic is not None:
        out[:, LOW_MID_DIMS:] = semantic[rows, cols]
    return out


def pixel_features(gray, semantic=None, band_rows=None):
    """The feature vector of every pixel (paper Sec. 3.2).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    semantic : ndarray, shape (H, W, N), float, optional
    band_rows : int, optional
        Rows per processing band (bounds the temporary memory; result independent of it).

    Returns
    -------
    feats : ndarray, shape (H, W, 81 + N), float32
        Dims 0..48 patch, 49..80 DAISY, 81.. semantic (see module docstring). Filled band
        by band in place: no extra full-size copy.
    """
    img, semantic = _prepare(gray, semantic)
    h, w = img.shape
    step = _band_rows(band_rows, w)
    dims = feature_dims(0 if semantic is None else semantic.shape[2])
    out = np.empty((h, w, dims), dtype=np.float32)
    work = _workspace(img, step)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        _fill_band(img, semantic, r0, r1, out[r0:r1], work)
    return out


def features_at(gray, rows, cols, semantic=None, band_rows=None):
    """Feature vectors at sampled pixels only (for training).

    The patch is read directly at each sample; DAISY's smoothed orientation maps are
    computed band by band, only for the bands holding samples, then gathered at the
    samples; the semantic vector is indexed. Cost: about one DAISY map pass over the
    bands touched plus O(n) for the samples.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    rows, cols : array_like of int, shape (n,)
        Pixel coordinates (any order, repeats allowed).
    semantic : ndarray, shape (H, W, N), float, optional
    band_rows : int, optional

    Returns
    -------
    feats : ndarray, shape (n, 81 + N), float32
        Row ``i`` equals ``pixel_features(gray, semantic)[rows[i], cols[i]]`` exactly.
    """
    img, semantic = _prepare(gray, semantic)
    rows, cols = check_coords(rows, cols, img.shape)
    return _points(img, semantic, rows, cols, _band_rows(band_rows, img.shape[1]))
