"""Reference-based colour transfer to a grayscale image.

* :func:`welsh_transfer`: Welsh, Ashikhmin, Mueller, "Transferring color to greyscale
  images", SIGGRAPH 2002 (global matching with jittered samples).
* :func:`reinhard_transfer`: Reinhard, Ashikhmin, Gooch, Shirley, "Color transfer
  between images", IEEE CG&A 2001 (global statistics in l-alpha-beta), the simplest
  form of the above.

Both keep the target's luminance: the output is the gray input as Y with transferred
U, V (:mod:`deepcolor.core.color`), so ``rgb2gray(output)`` equals the input within
rounding wherever the colour fits the RGB gamut.
"""

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from deepcolor.core.settings import TransferSettings
from deepcolor.core.color import CHROMA_SCALE, RGB_TO_YUV, combine, rgb2yuv, to_gray

#: Side of the window of the neighbourhood standard deviation (Welsh et al.: 5x5).
STD_WINDOW = 5

#: Weights of luminance and neighbourhood standard deviation in the match (paper: 50/50).
WELSH_WEIGHTS = (0.5, 0.5)

#: RGB -> LMS cone space (Reinhard et al. 2001, eq. 4, combining their eqs. 1-3).
RGB_TO_LMS = np.array(
    [
        [0.3811, 0.5783, 0.0402],
        [0.1967, 0.7244, 0.0782],
        [0.0241, 0.1288, 0.8444],
    ]
)

#: log10 LMS -> l-alpha-beta (Reinhard et al. 2001, eq. 6; Ruderman et al. 1998).
LOG_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [
        [1.0, 1.0, 1.0],
        [1.0, 1.0, -2.0],
        [1.0, -1.0, 0.0],
    ]
)

#: LMS values are floored at this (one gray level of 255) before the logarithm, so
#: black pixels have a finite l-alpha-beta.
LMS_FLOOR = 1.0 / 255.0


def _check_pair(gray, reference_rgb):
    gray = to_gray(gray, "gray")
    ref = np.asarray(reference_rgb)
    if ref.ndim != 3 or ref.shape[2] != 3 or ref.size == 0:
        raise ValueError(f"reference_rgb must have shape (H, W, 3), got {ref.shape}")
    if ref.dtype != np.uint8:
        raise ValueError(f"reference_rgb must be uint8 (8-bit RGB), got {ref.dtype}")
    return gray, ref


def _local_std(y, size=STD_WINDOW):
    """Standard deviation of the ``size x size`` window around each pixel (mirrored border)."""
    mean = ndimage.uniform_filter(y, size, mode="reflect")
    mean2 = ndimage.uniform_filter(y * y, size, mode="reflect")
    return np.sqrt(np.maximum(mean2 - mean * mean, 0.0))


def jittered_grid(shape, samples, rng):
    """About ``samples`` points, one uniformly placed in each cell of a regular grid.

    The grid has ``gy x gx`` cells with ``gy / gx`` close to the image's aspect ratio
    and ``gy * gx`` close to ``samples`` (at most the number of pixels).

    Returns
    -------
    rows, cols : ndarray of int, shape (gy * gx,)
    """
    h, w = shape
    samples = min(int(samples), h * w)
    gy = int(np.clip(round(np.sqrt(samples * h / w)), 1, h))
    gx = int(np.clip(round(samples / gy), 1, w))
    y_edges = np.linspace(0, h, gy + 1)
    x_edges = np.linspace(0, w, gx + 1)
    cy, cx = np.meshgrid(np.arange(gy), np.arange(gx), indexing="ij")
    cy, cx = cy.ravel(), cx.ravel()
    # A cell spans [edge_k, edge_k+1): pick a real position in it, then its pixel.
    rows = np.floor(y_edges[cy] + rng.random(cy.size) * (y_edges[cy + 1] - y_edges[cy])).astype(int)
    cols = np.floor(x_edges[cx] + rng.random(cx.size) * (x_edges[cx + 1] - x_edges[cx])).astype(int)
    return np.minimum(rows, h - 1), np.minimum(cols, w - 1)


def remap_luminance(reference_y, target_y):
    """Shift and scale the reference luminance to the target's mean and standard deviation.

    Welsh et al. 2002, Sec. 2 (after Hertzmann et al. 2001):
    ``Y' = (sigma_t / sigma_r) (Y - mu_r) + mu_t``; a constant reference is only shifted.
    """
    reference_y = np.asarray(reference_y, dtype=np.float64)
    target_y = np.asarray(target_y, dtype=np.float64)
    sigma_r, sigma_t = reference_y.std(), target_y.std()
    scale = sigma_t / sigma_r if sigma_r > 0 else 1.0
    return (reference_y - reference_y.mean()) * scale + target_y.mean()


def welsh_transfer(gray, reference_rgb, samples=TransferSettings.samples, seed=TransferSettings.seed):
    """Colorize ``gray`` from a colour reference (Welsh, Ashikhmin, Mueller, SIGGRAPH 2002).

    The global-matching procedure of the paper, in the release's YUV space:

    1. the reference luminance is remapped to the target's mean and standard
       deviation (:func:`remap_luminance`);
    2. about ``samples`` reference pixels are picked on a jittered grid
       (:func:`jittered_grid`);
    3. every target pixel takes the chrominance (U, V) of the sample that best
       matches it on ``0.5 * luminance + 0.5 * standard deviation of the 5x5
       neighbourhood`` (squared differences weighted 0.5 / 0.5: a nearest-neighbour
       query in a k-d tree);
    4. the target's luminance is kept.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        Target (an RGB target is converted to gray first).
    reference_rgb : ndarray, shape (Hr, Wr, 3), uint8
        Colour source; any size.
    samples : int
        Number of jittered samples (>= 1; at most the reference's pixel count).
    seed : int or sequence of int
        Seeds the jitter (:func:`numpy.random.default_rng`).

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
    """
    gray, ref = _check_pair(gray, reference_rgb)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    ref_yuv = rgb2yuv(ref)
    target_y = gray.astype(np.float64)
    ref_y = remap_luminance(ref_yuv[..., 0], target_y)
    rows, cols = jittered_grid(ref_y.shape, samples, np.random.default_rng(seed))
    w_lum, w_std = np.sqrt(WELSH_WEIGHTS)
    sample_features = np.column_stack([w_lum * ref_y[rows, cols], w_std * _local_std(ref_y)[rows, cols]])
    target_features = np.column_stack([w_lum * target_y.ravel(), w_std * _local_std(target_y).ravel()])
    _, nearest = cKDTree(sample_features).query(target_features, k=1)
    uv = ref_yuv[rows, cols, 1:][nearest].reshape(gray.shape + (2,))
    return combine(gray, uv / CHROMA_SCALE)


def rgb_to_lab(rgb):
    """8-bit RGB to Reinhard et al.'s l-alpha-beta (RGB / 255 -> LMS -> log10 -> l-alpha-beta).

    Parameters
    ----------
    rgb : ndarray, shape (..., 3), uint8 or float in 0..255

    Returns
    -------
    lab : ndarray, shape (..., 3), float64
    """
    lms = (np.asarray(rgb, dtype=np.float64) / 255.0) @ RGB_TO_LMS.T
    return np.log10(np.maximum(lms, LMS_FLOOR)) @ LOG_LMS_TO_LAB.T


def lab_to_rgb_float(lab):
    """Inverse of :func:`rgb_to_lab`, unrounded and unclipped: float RGB in the 0..255 scale."""
    log_lms = np.asarray(lab, dtype=np.float64) @ np.linalg.inv(LOG_LMS_TO_LAB).T
    return (10.0**log_lms) @ np.linalg.inv(RGB_TO_LMS).T * 255.0


def reinhard_transfer(gray, reference_rgb):
    """Global colour statistics transfer to a gray image (Reinhard et al. 2001).

    Reinhard et al. match each l-alpha-beta channel's mean and standard deviation:
    ``c' = (sigma_ref / sigma_target) (c - mu_target) + mu_ref``. A gray target has
    ``alpha = beta = 0`` everywhere (standard deviation 0), so its standardized
    ``(c - mu_target) / sigma_target`` is taken as 0 and every pixel receives the
    reference's *mean* alpha and beta: a uniform hue and saturation (in the log-cone
    space, so the tint is multiplicative: darker pixels get proportionally less
    chroma). The luminance is the target's own: each pixel's l-alpha-beta is
    ``(l_target, mu_alpha_ref, mu_beta_ref)``, converted to RGB, then its U, V are
    recombined with the input gray as Y (the l remapping of the paper would only move
    the luminance, which this project always keeps).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        Target (an RGB target is converted to gray first).
    reference_rgb : ndarray, shape (Hr, Wr, 3), uint8

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
    """
    gray, ref = _check_pair(gray, reference_rgb)
    ref_lab = rgb_to_lab(ref)
    mean_alpha, mean_beta = ref_lab[..., 1].mean(), ref_lab[..., 2].mean()
    target_l = rgb_to_lab(np.repeat(gray[..., None], 3, axis=2))[..., 0]
    lab = np.stack([target_l, np.full(gray.shape, mean_alpha), np.full(gray.shape, mean_beta)], axis=-1)
    uv = lab_to_rgb_float(lab) @ RGB_TO_YUV[1:].T
    return combine(gray, uv / CHROMA_SCALE)
