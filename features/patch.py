"""Low-level feature: the 7x7 gray patch around every pixel (paper Sec. 3.2, 49 dims).

Module ``deepcolor.features.patch``; the numba kernels are cached on disk (``cache=True``).

Order of the 49 entries
-----------------------
The MATLAB release takes the window ``im(y-3:y+3, x-3:x+3)`` and flattens it with
``(:)``, i.e. in MATLAB **column-major** order. With ``dy`` the row offset and ``dx`` the
column offset of a window entry (both in -3..3), its index in the feature vector is::

    k = (dx + 3) * 7 + (dy + 3)        # dy varies fastest

so entries 0..6 are the window's left column read top to bottom, entries 7..13 the next
column, and so on; entry 24 is the centre pixel. In numpy terms the feature of pixel
``(r, c)`` away from the border is ``gray[r-3:r+4, c-3:c+4].ravel(order="F") / 255``.

Border rule (release)
---------------------
Window entries that fall outside the image take the value of the **centre pixel**
(not a reflected or clamped neighbour). Images of any size, even 1x1, are handled.
"""

import numba as nb
import numpy as np

from ._validate import check_gray, check_points, gray_as_float32

#: Half width of the square window (7x7 patch).
PATCH_RADIUS = 3
#: Side of the window.
PATCH_SIZE = 2 * PATCH_RADIUS + 1
#: Number of patch dimensions (49).
PATCH_DIMS = PATCH_SIZE * PATCH_SIZE


@nb.njit(cache=True, inline="always")
def _patch_one(img, r, c, h, w, out, i0, i1, ch0):
    centre = np.float32(np.float64(img[r, c]) / 255.0)
    k = ch0
    for dx in range(-PATCH_RADIUS, PATCH_RADIUS + 1):
        cc = c + dx
        for dy in range(-PATCH_RADIUS, PATCH_RADIUS + 1):
            rr = r + dy
            if 0 <= rr < h and 0 <= cc < w:
                out[i0, i1, k] = np.float32(np.float64(img[rr, cc]) / 255.0)
            else:
                out[i0, i1, k] = centre
            k += 1


@nb.njit(cache=True, parallel=True)
def _scale_rows(img, s0, s1, out):
    """out[r - s0, c] = img[r, c] / 255 (float64 division, rounded to float32)."""
    w = img.shape[1]
    for r in nb.prange(s0, s1):
        for c in range(w):
            out[r - s0, c] = np.float32(np.float64(img[r, c]) / 255.0)


@nb.njit(cache=True, parallel=True)
def _patch_rows_scaled(scaled, s0, h, r0, r1, out, ch0):
    """Patches of image rows r0..r1-1 from ``scaled`` (= img / 255 of rows s0..) into
    ``out[i, c, ch0:ch0+49]``; a straight copy away from the border."""
    w = scaled.shape[1]
    R = PATCH_RADIUS
    for i in nb.prange(r1 - r0):
        r = r0 + i
        inner_row = r - R >= 0 and r + R < h
        for c in range(w):
            centre = scaled[r - s0, c]
            inner = inner_row and c - R >= 0 and c + R < w
            k = ch0
            for dx in range(-R, R + 1):
                cc = c + dx
                for dy in range(-R, R + 1):
                    rr = r + dy
                    if inner or (0 <= rr < h and 0 <= cc < w):
                        out[i, c, k] = scaled[rr - s0, cc]
                    else:
                        out[i, c, k] = centre
                    k += 1


def _patch_rows(img, r0, r1, out, ch0):
    """Write the patches of image rows r0..r1-1 into ``out[i, c, ch0:ch0+49]``.

    ``img``: (H, W) float32 in 0..255; ``out``: (r1 - r0, W, C) float32. Only rows
    ``r0 - 3 .. r1 + 3`` are read (and divided by 255 once each)."""
    h, w = img.shape
    s0, s1 = max(0, r0 - PATCH_RADIUS), min(h, r1 + PATCH_RADIUS)
    scaled = np.empty((s1 - s0, w), dtype=np.float32)
    _scale_rows(img, s0, s1, scaled)
    _patch_rows_scaled(scaled, s0, h, r0, r1, out, ch0)


@nb.njit(cache=True, parallel=True)
def _patch_points(img, rows, cols, out, ch0):
    """Write the patches of pixels (rows[i], cols[i]) into ``out[i, 0, ch0:ch0+49]``
    (``out`` has shape (n, 1, C))."""
    h, w = img.shape
    for i in nb.prange(rows.shape[0]):
        _patch_one(img, rows[i], cols[i], h, w, out, i, 0, ch0)


def extract_patches(gray):
    """The 7x7 patch feature of every pixel, divided by 255 (paper Sec. 3.2).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)

    Returns
    -------
    patches : ndarray, shape (H, W, 49), float32
        ``patches[r, c, (dx + 3) * 7 + (dy + 3)] = gray[r + dy, c + dx] / 255`` (MATLAB
        column-major order of the window, ``dy`` fastest); entries outside the image take
        ``gray[r, c] / 255`` (the release's border rule). See the module docstring.
    """
    gray = check_gray(gray)
    img = gray_as_float32(gray)
    h, w = img.shape
    out = np.empty((h, w, PATCH_DIMS), dtype=np.float32)
    _patch_rows(img, 0, h, out, 0)
    return out


def patches_at(gray, rows, cols):
    """The patch feature at given pixels only.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    rows, cols : array_like of int, shape (n,)

    Returns
    -------
    patches : ndarray, shape (n, 49), float32
        Row ``i`` equals ``extract_patches(gray)[rows[i], cols[i]]``.
    """
    img, rows, cols = check_points(gray, rows, cols)
    out = np.empty((rows.shape[0], PATCH_DIMS), dtype=np.float32)
    _patch_points(img, rows, cols, out[:, None, :], 0)
    return out
