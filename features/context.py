"""Local context of a pixel: where it is in the image and the gray levels around it (ours, not the paper's).

The paper's per-pixel vector sees a 7x7 patch, DAISY (about 15 px across) and the
parser's class probabilities. These 20 numbers add the pixel's position and the coarse
shading of its surroundings up to 48 px away:

* ``[0, 2)``: the position, row / H and column / W (sky is high, ground low);
* ``[2, 11)``: the gray image / 255 blurred by a Gaussian of sigma 4 px, read on a 3x3 grid
  8 px apart centred on the pixel (outside the image: the nearest edge pixel);
* ``[11, 20)``: the same at sigma 12 px on a grid 24 px apart.

Chosen on held-out reference images (``benchmarks/general_limits.py``: every 10th of the
24,517-image union held out): one network on the paper's features plus these predicted
held-out images 0.18 dB better (mean per-image chroma PSNR) than on the paper's features
alone, with no loss of colour; the image's gist and semantic histogram as inputs instead
made it 0.27 dB worse (the networks memorize training images by them).

The numbers are computed from the gray image alone (a blur and a gather, about 1 ms for a
256x256 image), so a training run computes them when it reads its samples
(:meth:`deepcolor.data.training_set.TrainingSet.samples`) instead of caching them, and the
paper's cached features stay valid.
"""

import numpy as np

from ._validate import check_gray, check_points, gray_as_float32

#: Grid spacings (px); the blur's sigma is half of each.
CONTEXT_STEPS = (8, 24)
#: Length of the context vector (2 + 9 per step).
CONTEXT_DIMS = 2 + 9 * len(CONTEXT_STEPS)
#: Bumped when the numbers change, so models record which context they were trained with.
CONTEXT_VERSION = "1"


def context_maps(gray):
    """The blurred gray images :func:`context_at` reads, one per step.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)

    Returns
    -------
    maps : list of ndarray, shape (H, W), float32 in 0..1
    """
    import cv2

    img = gray_as_float32(check_gray(gray)) / np.float32(255)
    return [cv2.GaussianBlur(img, (0, 0), step / 2) for step in CONTEXT_STEPS]


def context_at(maps, rows, cols):
    """The context vectors (see module docstring) at pixels ``(rows, cols)`` of the image of ``maps``.

    Parameters
    ----------
    maps : list from :func:`context_maps`
    rows, cols : ndarray of int, shape (n,), inside the image (validated by the caller)

    Returns
    -------
    ctx : ndarray, shape (n, 20), float32
    """
    h, w = maps[0].shape
    out = np.empty((rows.shape[0], CONTEXT_DIMS), dtype=np.float32)
    out[:, 0] = rows / h
    out[:, 1] = cols / w
    k = 2
    for blurred, step in zip(maps, CONTEXT_STEPS):
        for dy in (-step, 0, step):
            r = np.clip(rows + dy, 0, h - 1)
            for dx in (-step, 0, step):
                out[:, k] = blurred[r, np.clip(cols + dx, 0, w - 1)]
                k += 1
    return out


def context_features(gray, rows, cols):
    """The context vectors at sampled pixels of ``gray``: (n, 20) float32.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    rows, cols : array_like of int, shape (n,)
    """
    img, rows, cols = check_points(gray, rows, cols)
    return context_at(context_maps(img), rows, cols)


def context_grid(maps, r0, r1, stride):
    """The context vectors of image rows ``r0..r1-1`` on the ``stride`` grid, laid out as
    :func:`deepcolor.features.iter_feature_bands` lays out a band: (rows, cols, 20) float32."""
    h, w = maps[0].shape
    rows = np.arange(-(-r0 // stride) * stride, r1, stride, dtype=np.int64)
    cols = np.arange(0, w, stride, dtype=np.int64)
    ctx = context_at(maps, np.repeat(rows, cols.size), np.tile(cols, rows.size))
    return ctx.reshape(rows.size, cols.size, CONTEXT_DIMS)
