"""Global descriptor: the gist of Oliva & Torralba as computed by their ``LMgist.m`` (module
``deepcolor.features.lmgist``; the function is :func:`deepcolor.features.gist`).

The Deep Colorization release clusters reference images on ``LMgist`` with
``param.imageSize = [256 256]``, ``param.orientationsPerScale = [8 8 8 8]``,
``param.numberBlocks = 4``, ``param.fc_prefilt = 4`` and ``param.boundaryExtension = 32``,
giving 4 scales x 8 orientations x 4 x 4 blocks = 512 dims. This module ports that
pipeline:

1. **Size normalization** (``imresizecrop``): the image is scaled by
   ``s = max(256 / H, 256 / W)`` to ``round([H W] * s)`` with MATLAB's ``imresize``
   ``'bilinear'`` (triangle kernel, widened by ``1 / s`` when shrinking: MATLAB's
   antialiasing; mirrored borders), then the central 256 x 256 window is cut out
   (offsets ``floor((size - 256) / 2)``). The aspect ratio is kept; the longer side is
   cropped. A 256 x 256 input is used as is (MATLAB's resize at scale 1 is the identity).
2. Intensities are stretched to 0..255 (``img - min``, then ``255 * img / max``); a
   constant image stays all zero (MATLAB would divide 0 by 0).
3. **Prefilter** (``prefilt``, fc = 4): ``log(img + 1)``, symmetric padding of 5 px,
   whitening by subtracting a Gaussian low-pass (``exp(-(fx^2 + fy^2) / s1^2)``,
   ``s1 = fc / sqrt(log 2)``, frequencies in cycles per image), division by
   ``0.2 + sqrt(low-passed output^2)`` (local contrast normalization), crop back.
4. **Gabor energy** (``gistGabor``): symmetric padding of 32 px to 320 x 320, FFT,
   multiplication by each transfer function of ``createGabor([8 8 8 8], [320 320])``,
   inverse FFT, modulus, crop back to 256 x 256, mean over each cell of a 4 x 4 grid
   (``downN``: cell bounds ``fix(linspace(0, 256, 5))``).

Layout of the 512-vector (as ``LMgist``): filter-major, filter ``f = 8 * scale +
orientation`` (scale 0 is the finest; orientation ``j`` adds ``pi * j / 8`` to the
frequency angle, so its pass band is centred on angle ``-pi * j / 8`` of ``fx + i fy``,
``fy`` along the rows: ``j = 0`` responds to intensity varying along x); within
a filter the 16 cells in MATLAB column-major order, ``index = 16 * f + 4 * block_col +
block_row``.

Implementation: the filter bank for a given padded size is built once and cached (each
transfer function stored on the circular band of rows / columns where it exceeds 1e-12);
the forward FFT is done once per image and the 32 inverse FFTs use OpenCV's ``cv2.dft``
(float32), split over 2 threads (OpenCV and the Numba kernels release the GIL). Resizing and the prefilter run
in float64, the Gabor stage in float32 (LMgist runs in single precision throughout).
"""

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numba as nb
import numpy as np

from deepcolor.core.parallel import thread_budget

from ._validate import check_gray

#: LMgist parameters used by the release.
IMAGE_SIZE = 256
ORIENTATIONS_PER_SCALE = (8, 8, 8, 8)
NUMBER_BLOCKS = 4
FC_PREFILT = 4
BOUNDARY_EXTENSION = 32
#: Version of the gist values; bump when they change so cached gists are recomputed.
GIST_VERSION = 1
#: Length of the descriptor (512).
GIST_DIMS = sum(ORIENTATIONS_PER_SCALE) * NUMBER_BLOCKS * NUMBER_BLOCKS

#: Threads used for the 32 inverse FFTs (at most 2: the project targets 2 cores).
_N_THREADS = max(1, min(2, os.cpu_count() or 1))


# --------------------------------------------------------------------------- resize
@functools.lru_cache(maxsize=64)
def _contributions(in_len, out_len):
    """MATLAB ``imresize(..., 'bilinear')`` along one axis: input indices and weights.

    Output pixel ``x`` (1-based) maps to ``u = x / s + (1 - 1 / s) / 2`` in the input
    (``s = out_len / in_len``); its weights are the triangle kernel ``max(0, 1 - |u - i|)``
    over input pixels ``i``, widened to ``s * max(0, 1 - s |u - i|)`` when ``s < 1``
    (antialiasing), normalized to sum 1; input indices beyond the ends are mirrored
    (``[1:n, n:-1:1]`` periodically).

    Returns
    -------
    idx : ndarray, shape (out_len, taps), int64 (0-based input indices)
    wts : ndarray, shape (out_len, taps), float64
    """
    s = out_len / in_len
    width = 2.0
    if s < 1:
        width = width / s
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / s + 0.5 * (1 - 1 / s)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    d = u[:, None] - idx
    if s < 1:
        wts = s * np.maximum(0.0, 1 - np.abs(s * d))
    else:
        wts = np.maximum(0.0, 1 - np.abs(d))
    wts /= wts.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    for arr in (idx, wts):
        arr.setflags(write=False)
    return idx, wts


def _resize_rows(img, out_len):
    """Resize axis 0 of a 2-D float64 array (MATLAB bilinear weights)."""
    idx, wts = _contributions(img.shape[0], out_len)
    img = np.ascontiguousarray(img)
    out = np.zeros((out_len, img.shape[1]), dtype=np.float64)
    for t in range(idx.shape[1]):
        out += wts[:, t, None] * img[idx[:, t]]
    return out


@nb.njit(cache=True, nogil=True)
def _resize_cols_kernel(img, idx, wts, out):
    h = img.shape[0]
    n_out, taps = idx.shape
    for r in range(h):
        for j in range(n_out):
            s = 0.0
            for t in range(taps):
                s += wts[j, t] * img[r, idx[j, t]]
            out[r, j] = s


def _resize_cols(img, out_len):
    """Resize axis 1 of a 2-D float64 array (MATLAB bilinear weights), row by row."""
    idx, wts = _contributions(img.shape[1], out_len)
    img = np.ascontiguousarray(img)
    out = np.empty((img.shape[0], out_len), dtype=np.float64)
    _resize_cols_kernel(img, idx, wts, out)
    return out


def imresize_bilinear(img, out_shape):
    """MATLAB ``imresize(img, out_shape, 'bilinear')`` (antialiased when shrinking).

    Parameters
    ----------
    img : ndarray, shape (H, W), float
    out_shape : (int, int)

    Returns
    -------
    out : ndarray, shape out_shape, float64
        The axis with the smaller scale factor is resized first, as MATLAB does.
    """
    img = np.asarray(img, dtype=np.float64)
    (h, w), (oh, ow) = img.shape, out_shape
    if (h, w) == (oh, ow):
        return img.copy()
    if oh / h <= ow / w:
        return _resize_cols(_resize_rows(img, oh), ow)
    return _resize_rows(_resize_cols(img, ow), oh)


def imresizecrop(img, size=IMAGE_SIZE):
    """LMgist's ``imresizecrop``: scale so that both sides are at least ``size``, then cut
    the central ``size x size`` window.

    Parameters
    ----------
    img : ndarray, shape (H, W), float

    Returns
    -------
    out : ndarray, shape (size, size), float64
    """
    h, w = img.shape
    scale = max(size / h, size / w)
    newsize = (int(np.round(h * scale)), int(np.round(w * scale)))
    img = imresize_bilinear(img, newsize)
    sr = (newsize[0] - size) // 2
    sc = (newsize[1] - size) // 2
    return img[sr : sr + size, sc : sc + size]


# --------------------------------------------------------------------------- prefilter
@functools.lru_cache(maxsize=8)
def _prefilt_gaussian(n, fc):
    """``fftshift(exp(-(fx^2 + fy^2) / s1^2))`` on an n x n grid, ``s1 = fc / sqrt(log 2)``,
    frequencies in cycles per image (index k is frequency k, or k - n past n / 2).

    Returns it in OpenCV's packed (CCS) spectrum layout, float64, for
    ``cv2.mulSpectrums``: it is real and even, so it is the DFT of the real kernel
    ``real(ifft2(gf))`` (computed so, up to 1e-16)."""
    s1 = fc / math.sqrt(math.log(2))
    f = np.fft.fftfreq(n) * n  # 0, 1, ..., n/2 - 1, -n/2, ..., -1 (= fftshift of -n/2..n/2-1)
    gf = np.exp(-(f[:, None] ** 2 + f[None, :] ** 2) / s1**2)
    ccs = cv2.dft(np.ascontiguousarray(np.fft.ifft2(gf).real))
    ccs.setflags(write=False)
    return ccs


def _lowpass(x, gf_ccs):
    """real(ifft2(fft2(x) .* gf)) for the real, even filter gf (float64, OpenCV DFT)."""
    return cv2.dft(cv2.mulSpectrums(cv2.dft(x), gf_ccs, 0), flags=cv2.DFT_INVERSE | cv2.DFT_SCALE)


def prefilt(img, fc=FC_PREFILT):
    """LMgist's ``prefilt``: log, whitening and local contrast normalization.

    ``output = x - lowpass(x)`` with ``x = log(img + 1)`` padded symmetrically by 5 px
    (and to an even size), then ``output / (0.2 + sqrt(|lowpass(output^2)|))``, cropped
    back. ``lowpass`` multiplies the 2-D DFT by the Gaussian of :func:`_prefilt_gaussian`.

    Parameters
    ----------
    img : ndarray, shape (N, N), float, values 0..255
    fc : float
        Cut-off of the Gaussian low-pass, in cycles per image (release: 4).

    Returns
    -------
    out : ndarray, shape (N, N), float64
    """
    w = 5
    img = np.log(np.asarray(img, dtype=np.float64) + 1)
    img = np.pad(img, w, mode="symmetric")
    sn = img.shape[0]
    n = sn + sn % 2
    if n != sn:
        img = np.pad(img, ((0, n - sn), (0, n - sn)), mode="symmetric")
    gf = _prefilt_gaussian(n, fc)
    out = img - _lowpass(img, gf)
    localstd = np.sqrt(np.abs(_lowpass(out * out, gf)))
    out = out / (0.2 + localstd)
    return out[w : sn - w, w : sn - w]


# --------------------------------------------------------------------------- Gabor bank
@functools.lru_cache(maxsize=8)
def create_gabor(orientations_per_scale=ORIENTATIONS_PER_SCALE, n=IMAGE_SIZE + 2 * BOUNDARY_EXTENSION):
    """LMgist's ``createGabor``: transfer functions of the Gabor bank, FFT layout.

    Filter ``l`` (scale ``i``, orientation ``j``; 0-based, ``j`` fastest) has parameters
    ``(0.35, 0.3 / 1.85**i, 16 * o_i**2 / 32**2, pi / o_i * j)`` and transfer function
    ``exp(-10 a (fr / n / f0 - 1)^2 - 2 pi b tr^2)`` with ``fr`` the radial frequency (cycles
    per image), ``tr`` the frequency angle plus ``pi j / o_i``, wrapped to [-pi, pi].

    Parameters
    ----------
    orientations_per_scale : tuple of int
    n : int
        Side of the (square, padded) image the bank applies to.

    Returns
    -------
    G : ndarray, shape (n_filters, n, n), float32, read-only
        Zero frequency at index [.., 0, 0] (``fftshift`` of the centred grid).
    """
    params = []
    for i, n_or in enumerate(orientations_per_scale):
        for j in range(n_or):
            params.append((0.35, 0.3 / (1.85**i), 16 * n_or**2 / 32**2, math.pi / n_or * j))
    f = np.fft.fftfreq(n) * n
    fx = f[None, :]
    fy = f[:, None]
    fr = np.sqrt(fx**2 + fy**2)
    t = np.arctan2(fy, fx)  # MATLAB angle(fx + i fy)
    G = np.empty((len(params), n, n), dtype=np.float32)
    for l, (a, f0, b, theta) in enumerate(params):
        tr = t + theta
        tr = tr + 2 * np.pi * (tr < -np.pi) - 2 * np.pi * (tr > np.pi)
        G[l] = np.exp(-10 * a * (fr / n / f0 - 1) ** 2 - 2 * b * np.pi * tr**2)
    G.setflags(write=False)
    return G


#: Transfer-function values below this are treated as 0 (their products with the
#: spectrum are far below float32 resolution of the result; the tests compare with the
#: full float64 computation).
_GABOR_EPS = 1e-12


def _circular_band(mask):
    """Smallest circular run of indices covering the True entries of a 1-D mask."""
    n = mask.shape[0]
    if mask.all() or not mask.any():
        return np.arange(n)
    zeros = np.concatenate([~mask, ~mask])
    best, end, run = 0, 0, 0
    for i, v in enumerate(zeros):  # longest circular run of False
        run = run + 1 if v else 0
        if run > best:
            best, end = run, i
    best = min(best, n)
    return (end + 1 + np.arange(n - best)) % n


@functools.lru_cache(maxsize=8)
def _gabor_plan(orientations_per_scale, n):
    """Per filter: the rows R and columns C (circular bands) holding its transfer-function
    values above ``_GABOR_EPS``, and those values ``G[k][R][:, C]`` (float32). Sparse
    storage halves the memory read per filter (the bank is 26 MB dense)."""
    G = create_gabor(orientations_per_scale, n)
    plan = []
    for k in range(G.shape[0]):
        m = G[k] > _GABOR_EPS
        rows = _circular_band(m.any(axis=1)).astype(np.int64)
        cols = _circular_band(m.any(axis=0)).astype(np.int64)
        sub = np.ascontiguousarray(G[k][np.ix_(rows, cols)], dtype=np.float32)
        for a in (rows, cols, sub):
            a.setflags(write=False)
        plan.append((rows, cols, sub))
    return tuple(plan)


@nb.njit(cache=True, nogil=True)
def _multiply_band(F, rows, cols, sub, prod, prev_rows, prev_cols):
    """prod = F * G for a transfer function G that is ``sub`` on rows x cols, 0 elsewhere
    (F, prod: (P, P, 2) float32 complex as 2 channels). ``prod`` must be 0 outside
    prev_rows x prev_cols (the previous call's band), which is cleared first."""
    for i in range(prev_rows.shape[0]):
        r = prev_rows[i]
        for j in range(prev_cols.shape[0]):
            c = prev_cols[j]
            prod[r, c, 0] = 0.0
            prod[r, c, 1] = 0.0
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(cols.shape[0]):
            c = cols[j]
            g = sub[i, j]
            prod[r, c, 0] = F[r, c, 0] * g
            prod[r, c, 1] = F[r, c, 1] * g


def _block_bounds(size, n_blocks):
    """``fix(linspace(0, size, n_blocks + 1))``."""
    return np.fix(np.linspace(0, size, n_blocks + 1)).astype(np.int64)


_POOL = None
_POOL_PID = None
_POOL_LOCK = threading.Lock()


def _pool():
    """A small thread pool for the inverse FFTs (OpenCV releases the GIL); recreated in a
    forked child, where the parent's worker threads do not exist."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL = ThreadPoolExecutor(max_workers=_N_THREADS, thread_name_prefix="gist")
            _POOL_PID = os.getpid()
        return _POOL


@nb.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _block_mean_modulus(z, off, bounds, out):
    """out[bc, br] = mean of |z| over the cell (rows off + bounds[br] .. off + bounds[br+1],
    cols off + bounds[bc] ..), z: (P, P, 2) float32 complex as 2 channels.

    Moduli in float32 (vectorized), summed per row segment in float32 (at most one cell
    width, 64 values) and across rows in float64: relative error ~1e-8."""
    nb_ = bounds.shape[0] - 1
    acc = np.zeros((nb_, nb_))
    for br in range(nb_):
        for r in range(off + bounds[br], off + bounds[br + 1]):
            for bc in range(nb_):
                s = np.float32(0.0)
                for c in range(off + bounds[bc], off + bounds[bc + 1]):
                    re = z[r, c, 0]
                    im = z[r, c, 1]
                    s += np.sqrt(re * re + im * im)
                acc[bc, br] += s
    for br in range(nb_):
        for bc in range(nb_):
            out[bc, br] = acc[bc, br] / ((bounds[br + 1] - bounds[br]) * (bounds[bc + 1] - bounds[bc]))


def _gabor_energy(F, plan, ks, size, off, bounds, g):
    """Block means of |ifft2(F * G[k])| over the crop, for filters ks, into g[k] ([col, row])."""
    prod = np.zeros_like(F)
    z = np.empty_like(F)  # reused: a fresh 800 KB output per filter costs page faults
    prev = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for k in ks:
        rows, cols, sub = plan[k]
        _multiply_band(F, rows, cols, sub, prod, prev[0], prev[1])
        prev = (rows, cols)
        cv2.dft(prod, dst=z, flags=cv2.DFT_INVERSE)  # unscaled: 1 / P^2 applied at the end
        _block_mean_modulus(z, off, bounds, g[k])


def gist_gabor(img, orientations_per_scale=ORIENTATIONS_PER_SCALE, n_blocks=NUMBER_BLOCKS, boundary=BOUNDARY_EXTENSION):
    """LMgist's ``gistGabor`` on a prefiltered square image.

    Parameters
    ----------
    img : ndarray, shape (N, N), float

    Returns
    -------
    g : ndarray, shape (n_filters * n_blocks**2,), float32 (layout: module docstring)
    """
    size = img.shape[0]
    p = size + 2 * boundary
    plan = _gabor_plan(tuple(orientations_per_scale), p)
    padded = np.zeros((p, p, 2), dtype=np.float32)  # as complex: OpenCV's fast path
    padded[..., 0] = np.pad(np.asarray(img, dtype=np.float32), boundary, mode="symmetric")
    F = cv2.dft(padded)
    bounds = _block_bounds(size, n_blocks)
    n_filters = len(plan)
    g = np.empty((n_filters, n_blocks, n_blocks), dtype=np.float64)  # [filter, col, row]
    threads = thread_budget(_N_THREADS)  # 1 in a worker process: one core's share
    if threads > 1:
        chunks = [range(i, n_filters, threads) for i in range(threads)]
        futures = [_pool().submit(_gabor_energy, F, plan, ks, size, boundary, bounds, g) for ks in chunks]
        for f in futures:
            f.result()
    else:
        _gabor_energy(F, plan, range(n_filters), size, boundary, bounds, g)
    return (g.reshape(-1) / (p * p)).astype(np.float32)


def gist(gray):
    """512-dim gist descriptor of a gray image, as the release's ``LMgist`` computes it.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float
        Any size; normalized to 256 x 256 by ``imresizecrop`` (scale the shorter side to
        256 with MATLAB-style antialiased bilinear resizing, centre crop), then stretched
        to 0..255, so the input's scale does not matter.

    Returns
    -------
    g : ndarray, shape (512,), float32
        ``g[16 * (8 * scale + orientation) + 4 * block_col + block_row]`` (see module
        docstring).
    """
    gray = check_gray(gray)
    img = np.asarray(gray, dtype=np.float64)
    img = imresizecrop(img, IMAGE_SIZE)
    img = img - img.min()
    mx = img.max()
    if mx > 0:
        img = 255 * img / mx
    out = prefilt(img, FC_PREFILT)
    return gist_gabor(out, ORIENTATIONS_PER_SCALE, NUMBER_BLOCKS, BOUNDARY_EXTENSION)
