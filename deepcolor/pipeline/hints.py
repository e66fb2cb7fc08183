"""deepcolor with user hints: the automatic chroma bent toward a few colour points or strokes.

The SIGGRAPH 2017 setting (Zhang et al., "Real-Time User-Guided Image Colorization") with
this paper's model: the network's refined U, V are the starting point, scaled by the one
gain that best fits the hints (:func:`hint_gain`: the automatic colours are weak), and the
*difference* between the hints and that prediction is propagated by Levin et al.'s
edge-aware optimization with a data term (:func:`deepcolor.baselines.levin.levin_chroma`,
``data_weight``): at a hint the output takes the hint's colour, around it the correction
fades along the affinities (stopping at edges), far away the prediction stays. Zero hints
give exactly deepcolor's output; many hints give back the hints themselves.

The affinities are Levin's on the luminance, times a second factor on the automatic chroma
(``chroma_sigma``): the model's colours change at object boundaries that the gray image
does not show (a red car on a gray road of the same brightness), and a correction should
stop there too. Levin's propagation from the hints alone cannot know these boundaries;
this is what keeps deepcolor-hints ahead of it when hints are dense.

The propagation runs at the colorizer's working resolution (hints falling on one working
pixel are averaged there), so a hint costs the same on a 12-megapixel photo as on a
400-pixel one; the bent chroma goes to full resolution as the automatic one does.
"""

import numpy as np

from deepcolor.core.color import CHROMA_SCALE, rgb2yuv, to_gray
from deepcolor.core.settings import HintSettings


def points_to_hints(gray, points, patch=None):
    """Colour points as a marked image: ``(hints_rgb, mask)`` of :mod:`deepcolor.core.hints`.

    Parameters
    ----------
    gray : ndarray (H, W) uint8
    points : iterable of ``(row, column, (r, g, b))``
        Pixel coordinates (may be floats; rounded) and an 8-bit colour.
    patch : int, odd
        Each point colours a ``patch x patch`` block (default :class:`HintSettings`'s ``hint_size``).

    Raises
    ------
    ValueError
        A point outside the image or a colour that is not three values in 0..255 (naming the point).
    """
    patch = HintSettings.hint_size if patch is None else int(patch)
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch must be a positive odd number of pixels, got {patch}")
    h, w = gray.shape
    hints_rgb = np.repeat(gray[..., None], 3, axis=2)
    mask = np.zeros((h, w), dtype=bool)
    r = patch // 2
    for k, point in enumerate(points):
        try:
            row, col, color = point
            row, col = int(round(float(row))), int(round(float(col)))
            color = np.asarray(color, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"hint {k}: expected (row, column, (r, g, b)), got {point!r}") from None
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"hint {k}: ({row}, {col}) is outside the {w}x{h} image")
        if color.shape != (3,) or not np.all((color >= 0) & (color <= 255)):
            raise ValueError(f"hint {k}: the colour must be three values in 0..255, got {point[2]!r}")
        hints_rgb[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1] = np.round(color).astype(np.uint8)
        mask[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1] = True
    return hints_rgb, mask


def hint_chroma(gray, hints_rgb, mask, work_shape):
    """The hints' U/255, V/255 on the working grid: ``(values (h, w, 2) float64, mask (h, w) bool)``.

    Hinted full-resolution pixels falling on one working pixel are averaged.
    """
    rows, cols = np.nonzero(mask)
    uv = rgb2yuv(hints_rgb[rows, cols][None])[0, :, 1:] / CHROMA_SCALE
    return _on_grid(rows, cols, uv, gray.shape, work_shape)


def _on_grid(rows, cols, values, shape, grid_shape):
    """Values at pixels ``(rows, cols)`` of an image of ``shape`` averaged onto a coarser grid."""
    h, w = shape
    wh, ww = grid_shape
    wr = np.minimum(wh - 1, (rows * wh) // h)
    wc = np.minimum(ww - 1, (cols * ww) // w)
    flat = wr * ww + wc
    sums = np.zeros((wh * ww, 2))
    np.add.at(sums, flat, values)
    counts = np.bincount(flat, minlength=wh * ww)
    on = counts > 0
    sums[on] /= counts[on, None]
    return sums.reshape(wh, ww, 2), on.reshape(wh, ww)


def hint_gain(uv, values, hint_mask, prior=None):
    """The colour strength the hints ask for: ``a`` minimizing
    ``sum_hints |a uv - value|^2 + prior (a - 1)^2`` (one gain for U and V).

    The automatic colours are too weak where the model hesitates between clusters (it
    averages their networks); a few hints say by how much, and ``prior`` keeps one hint
    from deciding it alone.
    """
    prior = HintSettings.gain_prior if prior is None else prior
    if np.isinf(prior):  # no gain
        return 1.0
    p = uv[hint_mask].astype(np.float64)
    v = values[hint_mask]
    return float(((p * v).sum() + prior) / ((p * p).sum() + prior))


#: The hints' correction is solved on a grid of at most this longer side, then brought to
#: the working resolution edge-aware: a hint update of a 512x512 photo (working size 400)
#: then fits the web app's half second. Every benchmark image (at most 320 px) is solved at
#: its own size.
PROPAGATION_MAX_SIDE = 320


def apply_hints(work_gray, uv, values, hint_mask, data_weight=None, gain_prior=None, chroma_sigma=None):
    """``uv`` (h, w, 2, U/255 and V/255) bent to the hints ``values`` at ``hint_mask``.

    ``uv`` is first scaled by :func:`hint_gain`; then the difference ``values - uv`` at the
    hints is propagated edge-aware with Levin's optimization, the data term ``data_weight``
    and the automatic chroma as a second guide of sigma ``chroma_sigma`` gray levels (0 =
    luminance only) (defaults: :class:`HintSettings`'s), and added. The three settings were
    chosen on held-out images (``benchmarks/choose_hint_weight.py``).
    """
    from deepcolor.baselines.levin import levin_chroma

    if not hint_mask.any():
        return uv
    weight = HintSettings.data_weight if data_weight is None else data_weight
    sigma = HintSettings.chroma_sigma if chroma_sigma is None else chroma_sigma
    guide = uv  # the automatic chroma, before the gain, guides the propagation
    uv = uv * np.float32(hint_gain(uv, values, hint_mask, gain_prior))
    grid = work_gray
    if max(work_gray.shape) > PROPAGATION_MAX_SIDE:
        from deepcolor.pipeline.colorizer import working_image

        grid = working_image(work_gray, PROPAGATION_MAX_SIDE)
        guide = working_image(guide, PROPAGATION_MAX_SIDE)  # the grid's size, by the same rounding
    rows, cols = np.nonzero(hint_mask)
    differences, grid_mask = _on_grid(rows, cols, values[rows, cols] - uv[rows, cols], work_gray.shape, grid.shape)
    # gray levels for the solver's tolerance scale, back to the network scale after
    chroma = {} if sigma <= 0 else {"guide_chroma": guide * CHROMA_SCALE, "chroma_two_sigma2": 2.0 * sigma * sigma}
    correction = levin_chroma(grid, differences * CHROMA_SCALE, grid_mask, data_weight=weight, **chroma) / CHROMA_SCALE
    if grid is not work_gray:
        from deepcolor.core.refine import upsample_chroma

        correction = upsample_chroma(correction.astype(np.float32), work_gray)
    return (uv + correction).astype(np.float32)


def as_marked(gray, hints):
    """``(hints_rgb, mask)`` from what :meth:`Colorizer.colorize` accepts as ``hints``."""
    if isinstance(hints, tuple) and len(hints) == 2 and np.ndim(hints[0]) == 3:
        hints_rgb, mask = np.asarray(hints[0]), np.asarray(hints[1])
        if hints_rgb.shape != gray.shape + (3,) or mask.shape != gray.shape:
            raise ValueError(f"hints: a marked image {hints_rgb.shape} and mask {mask.shape} must match the "
                             f"image {gray.shape}")
        if hints_rgb.dtype != np.uint8:
            raise ValueError(f"hints: the marked image must be uint8 RGB, got {hints_rgb.dtype}")
        return hints_rgb, mask.astype(bool)
    return points_to_hints(to_gray(gray), hints)
