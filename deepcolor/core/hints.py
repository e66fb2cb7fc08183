"""Colour hints: simulated from a ground truth (benchmarks) or read from a marked image.

A hint is a pixel whose colour the user gives; a hinted method keeps its chrominance
there (Levin et al. 2004 as hard constraints; the learned method overrides its own
output locally). Hints travel as a pair ``(hints_rgb, mask)``: ``hints_rgb`` is the gray
image with the hint colours painted in (the "marked" image of Levin et al.'s demo) and
``mask`` tells which pixels are hints.
"""

import numpy as np

from deepcolor.core.color import gray_to_rgb, rgb2gray, rgb2yuv, to_gray

#: Chroma difference (gray levels, max of |dU|, |dV|) above which a pixel of a marked
#: image counts as a hint. Gray pixels of a quality-75..95 JPEG stay within about 2
#: levels; pale strokes still differ by far more.
MARK_TOLERANCE = 6.0


def _check_rgb(rgb, name):
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"{name} must have shape (H, W, 3), got {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (8-bit RGB), got {rgb.dtype}")
    return rgb


def simulate_hints(rgb, n_hints, patch=3, seed=0):
    """Reveal the true colour of ``n_hints`` random square patches, as a user would.

    The protocol of hint-based benchmarks (e.g. Zhang et al., SIGGRAPH 2017): patch
    centres are drawn uniformly without replacement over the image; each reveals the
    ``patch x patch`` block around it (clipped at the border; blocks may overlap).

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
        Ground truth.
    n_hints : int
        Number of patches, >= 0 (at most ``H * W``).
    patch : int
        Side of each patch in pixels, odd, >= 1.
    seed : int or sequence of int
        Seeds :func:`numpy.random.default_rng`; a benchmark passes ``(seed, index)``
        so every image gets its own reproducible draw.

    Returns
    -------
    hints_rgb : ndarray, shape (H, W, 3), uint8
        The ground truth at hinted pixels, the gray image (R = G = B = Y) elsewhere.
    mask : ndarray, shape (H, W), bool
        Hinted pixels.
    """
    rgb = _check_rgb(rgb, "rgb")
    if isinstance(n_hints, bool) or not isinstance(n_hints, (int, np.integer)) or n_hints < 0:
        raise ValueError(f"n_hints must be a non-negative integer, got {n_hints!r}")
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch must be a positive odd integer, got {patch!r}")
    h, w = rgb.shape[:2]
    if n_hints > h * w:
        raise ValueError(f"n_hints={n_hints} exceeds the number of pixels ({h * w})")
    rng = np.random.default_rng(seed)
    centres = rng.choice(h * w, size=int(n_hints), replace=False)
    mask = np.zeros((h, w), dtype=bool)
    if n_hints:
        cy, cx = np.divmod(centres, w)
        r = patch // 2
        offsets = np.arange(-r, r + 1)
        ys = np.clip(cy[:, None, None] + offsets[None, :, None], 0, h - 1)
        xs = np.clip(cx[:, None, None] + offsets[None, None, :], 0, w - 1)
        mask[np.broadcast_arrays(ys, xs)] = True
    hints_rgb = gray_to_rgb(rgb2gray(rgb))
    hints_rgb[mask] = rgb[mask]
    return hints_rgb, mask


def hints_from_marked(gray_rgb, marked_rgb, tolerance=MARK_TOLERANCE):
    """Find the coloured strokes of a marked image (Levin et al.'s demo input).

    A pixel is a hint where the marked image's chrominance differs from the gray
    image's by more than ``tolerance`` in U or V (release YUV, gray levels): the
    tolerance absorbs JPEG noise, so a stroke must be at least that colourful.

    Parameters
    ----------
    gray_rgb : ndarray, shape (H, W) or (H, W, 3), uint8
        The gray image (as read: a file saved as RGB may carry a little chroma noise).
    marked_rgb : ndarray, shape (H, W, 3), uint8
        The same image with coloured strokes painted on.
    tolerance : float
        >= 0.

    Returns
    -------
    mask : ndarray, shape (H, W), bool
    """
    marked_rgb = _check_rgb(marked_rgb, "marked image")
    gray_rgb = np.asarray(gray_rgb)
    if gray_rgb.ndim == 2:
        gray_rgb = gray_to_rgb(to_gray(gray_rgb, "gray image"))
    gray_rgb = _check_rgb(gray_rgb, "gray image")
    if gray_rgb.shape != marked_rgb.shape:
        raise ValueError(
            f"the gray image is {gray_rgb.shape[1]}x{gray_rgb.shape[0]} but the marked image is "
            f"{marked_rgb.shape[1]}x{marked_rgb.shape[0]}: they must have the same size"
        )
    tolerance = float(tolerance)
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    diff = np.abs(rgb2yuv(marked_rgb)[..., 1:] - rgb2yuv(gray_rgb)[..., 1:]).max(axis=2)
    return diff > tolerance


def apply_hints(gray, rgb, hints_rgb, mask):
    """Override a colorization's chrominance with the hints' at hinted pixels.

    How a method without hint support honours hints: the hinted pixels take the
    hint's U, V, every pixel keeps ``gray`` as its luminance.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        The input luminance.
    rgb : ndarray, shape (H, W, 3), uint8
        A colorization of ``gray``.
    hints_rgb : ndarray, shape (H, W, 3), uint8
    mask : ndarray, shape (H, W), bool

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
        ``rgb`` itself where ``mask`` is not set.
    """
    from deepcolor.core.color import CHROMA_SCALE, combine

    gray = to_gray(gray, "gray")
    rgb = _check_rgb(rgb, "rgb")
    hints_rgb = _check_rgb(hints_rgb, "hints_rgb")
    mask = np.asarray(mask, dtype=bool)
    if rgb.shape != gray.shape + (3,) or hints_rgb.shape != rgb.shape or mask.shape != gray.shape:
        raise ValueError(
            f"gray {gray.shape}, rgb {rgb.shape}, hints_rgb {hints_rgb.shape} and mask {mask.shape} must have the same size"
        )
    out = rgb.copy()
    if mask.any():
        uv = rgb2yuv(hints_rgb[mask][None])[0, :, 1:]
        out[mask] = combine(gray[mask][None], uv[None] / CHROMA_SCALE)[0]
    return out
