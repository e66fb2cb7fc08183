"""Mid-level feature: dense DAISY (Tola, Lepetit, Fua 2008/2010) at every pixel, 32 dims.

Module ``deepcolor.features.daisy``; the numba kernels are cached on disk (``cache=True``).

Parameters of the paper / release (``compute_daisy(gray, 7, 1, 3, 8)``): radius 7, 1 ring,
3 histograms on the ring plus the centre histogram, 8 orientations, so 4 x 8 = 32 dims.

The computation follows ``skimage.feature.daisy`` (which the project validates against)
step by step, on ``gray / 255``:

1. Gradients by forward differences, ``dx[r, c] = I[r, c+1] - I[r, c]`` and
   ``dy[r, c] = I[r+1, c] - I[r, c]``, zero on the last column / last row.
2. Eight orientation maps ``H_o = |g| * exp(kappa * cos(angle(g) - o))`` with
   ``kappa = 8 / pi`` and ``o = 2 pi k / 8 - pi`` (k = 0..7): the bin contribution is
   smoothed with a circular normal (von Mises) window over the angle, as scikit-image
   does, instead of the ``max(cos, 0)^a`` maps of Tola's code.
3. Each map is smoothed with a Gaussian of sigma ``radius / (2 rings) = 3.5`` (both the
   centre and the ring histograms use 3.5 for one ring, as scikit-image does), kernel
   truncated at 4 sigma (29 taps), the image border mirrored (``d c b a | a b c d``,
   scipy's ``mode="reflect"``).
4. The descriptor of pixel ``(r, c)`` is the 8 smoothed values at ``(r, c)`` (centre
   histogram, dims 0..7) followed by those at ``(r + dy_j, c + dx_j)`` for
   ``dy_j = round(7 sin(2 pi j / 3))``, ``dx_j = round(7 cos(2 pi j / 3))``, j = 0, 1, 2
   (Python rounding, as scikit-image: offsets (0, 7), (6, -3), (-6, -4)); dims 8j+8..8j+15.
5. ``1e-10`` is added to every entry, then each 8-bin histogram is divided by its L2 norm
   (``normalization="daisy"``, Tola et al.'s per-histogram normalization, the default),
   or the whole 32-vector by its L2 norm (``normalization="l2"``: scikit-image's
   ``normalization="l2"``), or nothing (``"off"``).

Borders: scikit-image drops a ``radius``-wide border; here every pixel gets a descriptor.
A ring sample that falls outside the image is taken at the **mirrored** position
(``-1 -> 0, -2 -> 1, H -> H-1``, repeated for images smaller than the offset), the same
rule the Gaussian smoothing uses, so images of any size (even 1x1) work. On every pixel
scikit-image describes (at least ``radius`` px from the border) the values equal
scikit-image's up to float32 rounding (max abs difference about 2e-7 for all three
normalizations; the tests require <= 1e-4 at >= 20 px from the border and <= 1e-5 on
the whole interior).

Implementation: the orientation maps and the per-pixel gather + normalization are Numba
kernels parallel over rows (``prange``; the exponential is a vectorizable polynomial,
``(Taylor_7(x / 8))^8``, relative error < 3e-8 on ``|x| <= kappa``); the Gaussian
smoothing is OpenCV's separable filter (``cv2.sepFilter2D``) on the 8-channel float32
map with the exact scipy kernel and ``BORDER_REFLECT`` (= scipy's ``"reflect"``). Bands of
rows are processed with :data:`BAND_MARGIN` rows of context on each side; results are
bit-identical whatever the band size.
"""

import math

import cv2
import numba as nb
import numpy as np

from ._validate import check_gray, check_points, gray_as_float32

#: DAISY parameters of the release: ``compute_daisy(gray, 7, 1, 3, 8)``.
RADIUS = 7
RINGS = 1
HISTOGRAMS = 3
ORIENTATIONS = 8
#: Descriptor length: (rings * histograms + 1) * orientations = 32.
DAISY_DIMS = (RINGS * HISTOGRAMS + 1) * ORIENTATIONS

#: Spatial sigma of the centre and ring histograms (scikit-image: radius / (2 rings)).
SIGMA = RADIUS / (2.0 * RINGS)
#: Gaussian kernel truncated at 4 sigma, like scipy.ndimage.gaussian_filter.
_TRUNCATE = 4.0
KERNEL_RADIUS = int(_TRUNCATE * SIGMA + 0.5)

#: (dy, dx) of the ring histograms, in the order of the descriptor (scikit-image's).
RING_OFFSETS = np.array(
    [
        (int(round(RADIUS * math.sin(2 * math.pi * j / HISTOGRAMS))), int(round(RADIUS * math.cos(2 * math.pi * j / HISTOGRAMS))))
        for j in range(HISTOGRAMS)
    ],
    dtype=np.int64,
)

#: Rows of context a band of output rows needs on each side: ring offset + Gaussian
#: support + 1 for the forward difference.
BAND_MARGIN = int(np.abs(RING_OFFSETS[:, 0]).max()) + KERNEL_RADIUS + 1

_NORMALIZATIONS = {"off": 0, "l2": 1, "daisy": 2}

_KAPPA = ORIENTATIONS / math.pi
_ANGLES = np.array([2 * o * math.pi / ORIENTATIONS - math.pi for o in range(ORIENTATIONS)])
_COS = np.cos(_ANGLES)
_SIN = np.sin(_ANGLES)


def _gaussian_kernel():
    x = np.arange(-KERNEL_RADIUS, KERNEL_RADIUS + 1, dtype=np.float64)
    k = np.exp(-0.5 / SIGMA**2 * x**2)
    return k / k.sum()


_KERNEL = _gaussian_kernel().astype(np.float32).reshape(-1, 1)


@nb.njit(cache=True, inline="always")
def _exp_small(x):
    """exp(x) for |x| <= kappa (2.55): (Taylor_7(x / 8))^8, relative error < 3e-8.

    Plain arithmetic, so that LLVM vectorizes the loop (Numba has no vector libm here)."""
    y = x * 0.125
    p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0)))))))
    p = p * p
    p = p * p
    return p * p


@nb.njit(cache=True, parallel=True)
def _orientation_maps(img, cosines, sines, kappa, out):
    """out[r, c, o] = |g| exp(kappa cos(angle(g) - o)) for g the forward-difference gradient
    of ``img / 255`` (img: (h, w) float32 in 0..255; out: (h, w, 8) float32).

    ``cos(angle(g) - o) = (gx cos o + gy sin o) / |g|``; the angles come in opposite pairs
    (o and o + pi, 8 equally spaced from -pi), so ``exp(kappa cos(t - o - pi)) =
    1 / exp(kappa cos(t - o))``: 4 exponentials per pixel. Where ``g = 0`` all 8 are 0
    (as in scikit-image, where the magnitude multiplies the bin weight).
    """
    h, w = img.shape
    half = cosines.shape[0] // 2
    for r in nb.prange(h):
        gx = np.empty(w, np.float64)
        gy = np.empty(w, np.float64)
        mg = np.empty(w, np.float64)
        for c in range(w):
            v = np.float64(img[r, c]) / 255.0
            dx = 0.0
            dy = 0.0
            if c + 1 < w:
                dx = np.float64(img[r, c + 1]) / 255.0 - v
            if r + 1 < h:
                dy = np.float64(img[r + 1, c]) / 255.0 - v
            m = math.sqrt(dx * dx + dy * dy)
            inv = kappa / m if m > 0.0 else 0.0
            gx[c] = dx * inv
            gy[c] = dy * inv
            mg[c] = m
        for o in range(half):
            co = cosines[o]
            so = sines[o]
            for c in range(w):
                e = _exp_small(gx[c] * co + gy[c] * so)
                out[r, c, o] = np.float32(mg[c] * e)
                out[r, c, o + half] = np.float32(mg[c] / e)


@nb.njit(cache=True, inline="always")
def _reflect(i, n):
    """Mirror index i into [0, n): -1 -> 0, -2 -> 1, n -> n - 1 (period 2n)."""
    if 0 <= i < n:
        return i
    p = 2 * n
    i = i % p
    if i >= n:
        i = p - 1 - i
    return i


@nb.njit(cache=True, inline="always")
def _hist_pos(r, c, j, e0, h, w, offsets):
    """Row (in S) and column of histogram j of pixel (r, c); j = 0 is the centre."""
    if j == 0:
        return r - e0, c
    return _reflect(r + offsets[j - 1, 0], h) - e0, _reflect(c + offsets[j - 1, 1], w)


@nb.njit(cache=True, inline="always")
def _hist_sq(S, rr, cc):
    """Sum over the 8 bins of (S[rr, cc, o] + 1e-10)^2, in float64, bins in order."""
    s = 0.0
    for o in range(ORIENTATIONS):
        v = np.float64(S[rr, cc, o]) + 1e-10
        s += v * v
    return s


@nb.njit(cache=True, inline="always")
def _descriptor(S, e0, h, w, r, c, offsets, norm_mode, out, i0, i1, ch0):
    """Gather the 4 histograms of pixel (r, c) (image coordinates) from the smoothed maps
    S (rows e0.. of the image), add 1e-10, normalize, write out[i0, i1, ch0:ch0+32]."""
    n_o = S.shape[2]
    n_h = offsets.shape[0] + 1
    inv = 1.0
    if norm_mode == 1:
        s = 0.0
        for j in range(n_h):
            rr, cc = _hist_pos(r, c, j, e0, h, w, offsets)
            s += _hist_sq(S, rr, cc)
        inv = 1.0 / math.sqrt(s)
    for j in range(n_h):
        rr, cc = _hist_pos(r, c, j, e0, h, w, offsets)
        if norm_mode == 2:
            s = 0.0
            for o in range(n_o):
                v = np.float64(S[rr, cc, o]) + 1e-10
                s += v * v
            inv = 1.0 / math.sqrt(s)
        k = ch0 + j * n_o
        for o in range(n_o):
            out[i0, i1, k + o] = np.float32((np.float64(S[rr, cc, o]) + 1e-10) * inv)


@nb.njit(cache=True, inline="always")
def _write_hist(S, rr, cc, norm_mode, inv, out, i0, i1, k0):
    """out[i0, i1, k0:k0+8] = (S[rr, cc] + 1e-10) * inv, inv = 1 / its L2 norm when
    norm_mode == 2 (per histogram), else the given inv."""
    if norm_mode == 2:
        inv = 1.0 / math.sqrt(_hist_sq(S, rr, cc))
    for o in range(ORIENTATIONS):
        out[i0, i1, k0 + o] = np.float32((np.float64(S[rr, cc, o]) + 1e-10) * inv)


@nb.njit(cache=True, inline="always")
def _unmirrored_columns(offsets, w):
    """[lo, hi): the columns whose ring positions all fall inside the image."""
    lo = 0
    hi = w
    for j in range(offsets.shape[0]):
        lo = max(lo, -offsets[j, 1])
        hi = min(hi, w - offsets[j, 1])
    return lo, hi


@nb.njit(cache=True, inline="always")
def _histogram_rows(r, e0, h, offsets, rs):
    """rs[j]: source row of histogram j (centre, then the mirrored ring rows) of image row r."""
    rs[0] = r - e0
    for j in range(offsets.shape[0]):
        rs[j + 1] = _reflect(r + offsets[j, 0], h) - e0


@nb.njit(cache=True, inline="always")
def _histogram_columns(c, w, lo, hi, offsets, cs):
    """cs[j]: source column of histogram j of column c (mirrored only near the border)."""
    cs[0] = c
    if lo <= c < hi:
        for j in range(offsets.shape[0]):
            cs[j + 1] = c + offsets[j, 1]
    else:
        for j in range(offsets.shape[0]):
            cs[j + 1] = _reflect(c + offsets[j, 1], w)


@nb.njit(cache=True, parallel=True)
def _gather_rows(S, Q, e0, h, r0, r1, offsets, norm_mode, out, ch0):
    """Descriptors of image rows r0..r1-1 into out[i, c, ch0:ch0+32] (same values as
    :func:`_descriptor`; source rows mirrored once per row, columns only near the
    left / right border). Q: per-pixel :func:`_hist_sq` of S (used when norm_mode == 1)."""
    w = S.shape[1]
    n_h = offsets.shape[0] + 1
    lo, hi = _unmirrored_columns(offsets, w)
    for i in nb.prange(r1 - r0):
        rs = np.empty(n_h, np.int64)
        cs = np.empty(n_h, np.int64)
        _histogram_rows(r0 + i, e0, h, offsets, rs)
        for c in range(w):
            _histogram_columns(c, w, lo, hi, offsets, cs)
            inv = 1.0
            if norm_mode == 1:
                s = 0.0
                for j in range(n_h):
                    s += Q[rs[j], cs[j]]
                inv = 1.0 / math.sqrt(s)
            for j in range(n_h):
                _write_hist(S, rs[j], cs[j], norm_mode, inv, out, i, c, ch0 + j * ORIENTATIONS)


@nb.njit(cache=True, parallel=True)
def _per_pixel_norms(S, N, Q, mode):
    """Per pixel of S: mode 2: N[r, c] = (S[r, c] + 1e-10) / ||S[r, c] + 1e-10||_2
    (float64 maths, float32 out); mode 1: Q[r, c] = ||S[r, c] + 1e-10||_2^2."""
    h, w = S.shape[0], S.shape[1]
    for r in nb.prange(h):
        for c in range(w):
            if mode == 2:
                _write_hist(S, r, c, 2, 1.0, N, r, c, 0)
            else:
                Q[r, c] = _hist_sq(S, r, c)


@nb.njit(cache=True, parallel=True)
def _copy_gather_rows(N, e0, h, r0, r1, offsets, out, ch0):
    """out[i, c, ch0 + 8 j + o] = N[row_j - e0, col_j, o] for the 4 histogram positions of
    pixel (r0 + i, c) (centre, then mirrored ring positions)."""
    w = N.shape[1]
    n_h = offsets.shape[0] + 1
    lo, hi = _unmirrored_columns(offsets, w)
    for i in nb.prange(r1 - r0):
        rs = np.empty(n_h, np.int64)
        cs = np.empty(n_h, np.int64)
        _histogram_rows(r0 + i, e0, h, offsets, rs)
        for c in range(w):
            _histogram_columns(c, w, lo, hi, offsets, cs)
            for j in range(n_h):
                k0 = ch0 + j * ORIENTATIONS
                for o in range(ORIENTATIONS):
                    out[i, c, k0 + o] = N[rs[j], cs[j], o]


@nb.njit(cache=True, parallel=True)
def _gather_points(S, e0, h, rows, cols, idx, offsets, norm_mode, out, ch0):
    """Descriptors of pixels (rows[idx[k]], cols[idx[k]]) into out[idx[k], 0, ch0:ch0+32]
    (``out`` has shape (n, 1, C))."""
    w = S.shape[1]
    for k in nb.prange(idx.shape[0]):
        i = idx[k]
        _descriptor(S, e0, h, w, rows[i], cols[i], offsets, norm_mode, out, i, 0, ch0)


def _norm_mode(normalization):
    try:
        return _NORMALIZATIONS[normalization]
    except KeyError:
        raise ValueError(f"normalization must be one of {sorted(_NORMALIZATIONS)}, got {normalization!r}") from None


def workspace(rows, width):
    """Buffers for :func:`smoothed_maps` reused across bands (avoids a fresh allocation,
    and its page faults, per band): two (rows, width, 8) float32 arrays."""
    return (np.empty((rows, width, ORIENTATIONS), np.float32), np.empty((rows, width, ORIENTATIONS), np.float32))


def smoothed_maps(img, e0, e1, work=None):
    """Smoothed orientation maps of image rows e0..e1-1 computed from those rows only.

    Parameters
    ----------
    img : ndarray, shape (H, W), float32 (0..255 scale), C-contiguous
    e0, e1 : int
        Row range; values within ``BAND_MARGIN - RADIUS`` rows of a cut that is not an
        image border are not exact (callers keep a margin of :data:`BAND_MARGIN`).
    work : tuple of two ndarrays, optional
        From :func:`workspace` with at least ``e1 - e0`` rows; the result is a view of it.

    Returns
    -------
    S : ndarray, shape (e1 - e0, W, 8), float32
    """
    return _smoothed_maps(img, e0, e1, work)[0]


def _smoothed_maps(img, e0, e1, work=None):
    """(S, spare): the smoothed maps and the (now unused) unsmoothed-map buffer."""
    band = img[e0:e1]
    n = e1 - e0
    if work is None or work[0].shape[0] < n or work[0].shape[1] != img.shape[1]:
        hist, dst = np.empty(band.shape + (ORIENTATIONS,), dtype=np.float32), None
    else:
        hist, dst = work[0][:n], work[1][:n]
    _orientation_maps(band, _COS, _SIN, _KAPPA, hist)
    S = cv2.sepFilter2D(hist, cv2.CV_32F, _KERNEL, _KERNEL, dst=dst, borderType=cv2.BORDER_REFLECT)
    return S, hist


def _daisy_band(img, r0, r1, out, ch0, mode, work):
    """Descriptors of image rows r0..r1-1 into out[:, :, ch0:ch0+32] (out: (r1-r0, W, C)).

    With per-histogram normalization every pixel's histogram is normalized once (into the
    spare buffer) and the descriptors are gathered by copying: bit-identical to
    normalizing the 4 histograms of each descriptor separately.
    """
    h = img.shape[0]
    e0, e1 = band_extent(r0, r1, h)
    S, spare = _smoothed_maps(img, e0, e1, work)
    if mode == 2:
        _per_pixel_norms(S, spare, np.empty((1, 1), dtype=np.float64), 2)
        _copy_gather_rows(spare, e0, h, r0, r1, RING_OFFSETS, out, ch0)
    else:
        Q = np.empty(S.shape[:2] if mode == 1 else (1, 1), dtype=np.float64)
        if mode == 1:
            _per_pixel_norms(S, spare, Q, 1)
        _gather_rows(S, Q, e0, h, r0, r1, RING_OFFSETS, mode, out, ch0)


def band_extent(r0, r1, h):
    """Rows e0..e1 needed to compute exact descriptors of output rows r0..r1."""
    return max(0, r0 - BAND_MARGIN), min(h, r1 + BAND_MARGIN)


def daisy_rows(img, r0, r1, out, ch0=0, normalization="daisy", work=None):
    """Write the DAISY descriptors of rows r0..r1-1 into ``out[:, :, ch0:ch0+32]``.

    ``img`` is the float32 0..255 image (whole, C-contiguous); ``out`` has shape
    (r1 - r0, W, C). Only rows ``r0 - BAND_MARGIN .. r1 + BAND_MARGIN`` are processed,
    and the result is bit-identical to processing the whole image. ``work``: optional
    buffers from :func:`workspace`.
    """
    _daisy_band(img, r0, r1, out, ch0, _norm_mode(normalization), work)


def _auto_band_rows(w, target_pixels=1 << 20):
    return max(64, target_pixels // max(w, 1))


def _check_band_rows(band_rows, w):
    if band_rows is None:
        return _auto_band_rows(w)
    step = int(band_rows)
    if step < 1:
        raise ValueError(f"band_rows must be >= 1, got {band_rows}")
    return step


def extract_daisy(gray, normalization="daisy", band_rows=None):
    """Dense DAISY descriptor at every pixel, borders included (paper Sec. 3.2).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
        Processed as ``gray / 255`` (scikit-image's ``img_as_float`` of a uint8 image).
    normalization : {"daisy", "l2", "off"}
        ``"daisy"`` (default): each of the 4 histograms L2-normalized (Tola et al.; equals
        scikit-image's ``normalization="daisy"``). ``"l2"``: the 32-vector L2-normalized
        (scikit-image's ``normalization="l2"``). ``"off"``: raw smoothed histograms.
    band_rows : int, optional
        Rows per processing band (memory bound); the result does not depend on it.

    Returns
    -------
    descs : ndarray, shape (H, W, 32), float32
        Dims 0..7: centre histogram; 8..15, 16..23, 24..31: the ring histograms at
        offsets (dy, dx) = (0, 7), (6, -3), (-6, -4) (scikit-image's layout). Ring samples
        outside the image are mirrored (see module docstring).
    """
    gray = check_gray(gray)
    mode = _norm_mode(normalization)
    img = gray_as_float32(gray)
    h, w = img.shape
    out = np.empty((h, w, DAISY_DIMS), dtype=np.float32)
    step = _check_band_rows(band_rows, w)
    work = workspace(min(h, step + 2 * BAND_MARGIN), w) if step < h else None
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        _daisy_band(img, r0, r1, out[r0:r1], 0, mode, work)
    return out


def daisy_at(gray, rows, cols, normalization="daisy", band_rows=None):
    """DAISY descriptors at given pixels only (the smoothed maps are computed band by band,
    only for bands holding samples).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    rows, cols : array_like of int, shape (n,)
    normalization : {"daisy", "l2", "off"}
        As in :func:`extract_daisy`.
    band_rows : int, optional
        Rows per processing band (memory bound); the result does not depend on it.

    Returns
    -------
    descs : ndarray, shape (n, 32), float32
        Row ``i`` equals ``extract_daisy(gray, normalization)[rows[i], cols[i]]``.
    """
    img, rows, cols = check_points(gray, rows, cols)
    out = np.empty((rows.shape[0], DAISY_DIMS), dtype=np.float32)
    daisy_points(img, rows, cols, out, 0, normalization, band_rows)
    return out


def daisy_points(img, rows, cols, out, ch0=0, normalization="daisy", band_rows=None):
    """Write descriptors of pixels (rows[i], cols[i]) into ``out[i, ch0:ch0+32]``.

    ``img``: float32 0..255 image, C-contiguous; ``rows``, ``cols``: validated int64.
    """
    mode = _norm_mode(normalization)
    h, w = img.shape
    if rows.shape[0] == 0:
        return
    step = _check_band_rows(band_rows, w)
    band = rows // step
    order = np.argsort(band, kind="stable")
    bounds = np.searchsorted(band[order], np.arange(0, (h + step - 1) // step + 1))
    work = workspace(min(h, step + 2 * BAND_MARGIN), w) if step < h else None
    for b in range(len(bounds) - 1):
        lo, hi = bounds[b], bounds[b + 1]
        if lo == hi:
            continue
        r0, r1 = b * step, min(h, (b + 1) * step)
        e0, e1 = band_extent(r0, r1, h)
        S = smoothed_maps(img, e0, e1, work)
        _gather_points(S, e0, h, rows, cols, order[lo:hi], RING_OFFSETS, mode, out[:, None, :], ch0)
