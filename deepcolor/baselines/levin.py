"""Colorization using optimization (Levin, Lischinski, Weiss, SIGGRAPH 2004).

The user marks a few pixels with colour; every other pixel's chrominance is the
weighted average of its 3x3 neighbours' chrominance, with weights that fall off with
the luminance difference. Both chroma channels (U and V of the release's YUV space,
:mod:`deepcolor.core.color`) solve the same sparse linear system with different right-hand
sides; the luminance is the input's, untouched.

One deliberate departure, measured: the paper's ``sigma_r`` belongs to the centre pixel
``r``, which makes the system nonsymmetric. By default the pair ``(r, s)`` uses the
mean of ``2 sigma_r^2`` and ``2 sigma_s^2`` (:func:`affinity_kernel`): the weights are
still row-normalized luminance affinities from the local variance, but the system is
then a symmetric graph Laplacian, which multigrid-preconditioned conjugate gradients
solve about 4x faster than BiCGSTAB solves the paper's (0.36 vs 1.49 CPU s at 256x256,
``benchmarks/bench_baselines.py``; the paper's would miss the 12 s budget at
1024x1024). On a SIFT Flow photo with 50 hints the two outputs differ by 1.9 levels on
average (37.5 dB PSNR between them).
``symmetric=False`` gives the paper's exact system.
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from deepcolor.baselines.multigrid import MultigridSolver, bicgstab, conjugate_gradients
from deepcolor.core.color import CHROMA_SCALE, combine, rgb2yuv, to_gray

#: The 8 neighbour offsets (dy, dx) of the 3x3 window.
_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))

#: ``2 sigma_r^2 = VARIANCE_FACTOR * (variance of the 3x3 window around r)``; 0.6 is the
#: value of the authors' MATLAB code.
VARIANCE_FACTOR = 0.6

#: Lower bound of ``2 sigma_r^2`` in squared gray levels (flat windows: equal weights).
MIN_TWO_SIGMA2 = 0.1

#: ``2 sigma_r^2`` is raised where needed so that the most similar neighbour of ``r``
#: keeps at least this weight before normalization (a pixel unlike all its neighbours
#: still averages them, most strongly the closest one).
MIN_BEST_WEIGHT = 0.01

#: Linear solvers of :func:`levin_chroma`: conjugate gradients preconditioned by a
#: smoothed-aggregation multigrid V-cycle (the default, chosen by measurement: see
#: ``benchmarks/bench_baselines.py``) and a sparse LU factorization (SuperLU), reused
#: for U and V.
SOLVERS = ("multigrid", "splu")

#: Default relative residual of the iterative solver: on SIFT Flow images with 20
#: hints the output differs from the exact (``splu``) one by at most 1 level in
#: under 0.06% of the pixel channels (measured).
DEFAULT_RTOL = 1e-4


def _local_variance(y):
    """Variance of the 3x3 window around each pixel (centre included, clipped at the border)."""
    h, w = y.shape
    total = np.zeros_like(y)
    total2 = np.zeros_like(y)
    count = np.zeros_like(y)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            src = y[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
            dst = (slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
            total[dst] += src
            total2[dst] += src * src
            count[dst] += 1
    mean = total / count
    return np.maximum(total2 / count - mean * mean, 0.0)


def _neighbour_slices(dy, dx, h, w):
    """Slices of the pixels ``r`` that have a neighbour at ``(dy, dx)``, and of those neighbours."""
    r = (slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
    s = (slice(max(0, dy), h - max(0, -dy)), slice(max(0, dx), w - max(0, -dx)))
    return r, s


def affinity_kernel(gray, *, symmetric=True, guide_chroma=None, chroma_two_sigma2=None):
    """Unnormalized 3x3 luminance affinities ``k_rs`` of Levin et al. 2004.

    ``k_rs = exp(-(Y_r - Y_s)^2 / (2 sigma^2))`` for the 8 neighbours ``s`` of ``r``
    (the paper's eq. 2 before normalization). ``2 sigma_r^2`` is
    :data:`VARIANCE_FACTOR` times the variance of the 3x3 window around ``r``, raised
    where needed so that the most similar neighbour keeps a weight of at least
    :data:`MIN_BEST_WEIGHT`, and never below :data:`MIN_TWO_SIGMA2`.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float
        Luminance in gray levels (0..255).
    symmetric : bool
        ``True`` (default): the pair ``(r, s)`` uses the mean of ``2 sigma_r^2`` and
        ``2 sigma_s^2``, so ``K`` is symmetric and the colorization system is a graph
        Laplacian (symmetric positive definite: conjugate gradients and multigrid
        apply). ``False``: the paper's per-pixel ``sigma_r`` (row ``r`` uses
        ``sigma_r``), a nonsymmetric ``K``.
    guide_chroma : ndarray, shape (H, W, C), float, optional
        A second guide beside the luminance (deepcolor-hints: the automatic U, V in gray
        levels): ``k_rs`` is further multiplied by ``exp(-|c_r - c_s|^2 /
        chroma_two_sigma2)``, so that propagation also stops where the guide's colour
        changes, at edges the luminance does not show. Not in Levin et al.
    chroma_two_sigma2 : float
        ``2 sigma_c^2`` in squared gray levels, > 0; required with ``guide_chroma``.

    Returns
    -------
    K : scipy.sparse.csr_matrix, shape (H*W, H*W), float64
        Pixel ``(i, j)`` is row ``i * W + j``; zero diagonal; at most 8 entries a row,
        all in (0, 1].
    """
    y = np.asarray(gray, dtype=np.float64)
    if y.ndim != 2 or y.size == 0:
        raise ValueError(f"gray must be a non-empty (H, W) array, got shape {y.shape}")
    h, w = y.shape
    n = y.size
    # Squared differences to the 8 neighbours, (H, W, 8); inf where the neighbour is
    # outside the image (its weight becomes exp(-inf) = 0 and is dropped).
    weights = np.full((h, w, len(_OFFSETS)), np.inf)
    for k, (dy, dx) in enumerate(_OFFSETS):
        r, s = _neighbour_slices(dy, dx, h, w)
        weights[r + (k,)] = (y[s] - y[r]) ** 2
    valid = np.isfinite(weights)
    min_d2 = weights.min(axis=2)
    min_d2[~np.isfinite(min_d2)] = 0.0  # a 1x1 image has no neighbour
    two_sigma2 = VARIANCE_FACTOR * _local_variance(y)
    np.maximum(two_sigma2, min_d2 / np.log(1.0 / MIN_BEST_WEIGHT), out=two_sigma2)
    np.maximum(two_sigma2, MIN_TWO_SIGMA2, out=two_sigma2)
    del min_d2
    if guide_chroma is not None:
        c = np.asarray(guide_chroma, dtype=np.float64)
        if c.shape[:2] != (h, w) or c.ndim != 3:
            raise ValueError(f"guide_chroma must have shape {(h, w, 'C')}, got {c.shape}")
        if not (chroma_two_sigma2 and chroma_two_sigma2 > 0):
            raise ValueError(f"chroma_two_sigma2 must be > 0 with guide_chroma, got {chroma_two_sigma2!r}")
    for k, (dy, dx) in enumerate(_OFFSETS):
        r, s = _neighbour_slices(dy, dx, h, w)
        if symmetric:
            denom = two_sigma2.copy()
            denom[r] = 0.5 * (two_sigma2[r] + two_sigma2[s])
        else:
            denom = two_sigma2
        weights[..., k] /= denom
        if guide_chroma is not None:
            weights[r + (k,)] += ((c[s] - c[r]) ** 2).sum(axis=2) / chroma_two_sigma2
    np.negative(weights, out=weights)
    np.exp(weights, out=weights)
    # CSR straight from the stencil: the offsets are in raster order, so each row's
    # column indices (r + dy * W + dx) come out sorted.
    index_dtype = np.int32 if n < 2**31 - 2 * w - 2 else np.int64
    deltas = np.array([dy * w + dx for dy, dx in _OFFSETS], dtype=index_dtype)
    indices = (np.arange(n, dtype=index_dtype)[:, None] + deltas[None, :])[valid.reshape(n, -1)]
    data = weights[valid]
    del weights
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(valid.sum(axis=2).ravel(), out=indptr[1:])
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def affinity_matrix(gray, *, symmetric=True):
    """Row-normalized 3x3 luminance affinities ``W`` (Levin et al. 2004, eq. 2).

    ``W = D^-1 K`` with ``K`` from :func:`affinity_kernel` and ``D`` its row sums:
    every row sums to 1, so ``U(r) = sum_s w_rs U(s)`` is a weighted average.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float
    symmetric : bool
        See :func:`affinity_kernel`.

    Returns
    -------
    W : scipy.sparse.csr_matrix, shape (H*W, H*W), float64
    """
    K = affinity_kernel(gray, symmetric=symmetric)
    row_sum = np.asarray(K.sum(axis=1)).ravel()
    row_sum[row_sum == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / row_sum) @ K)


def _check_hints(gray, hint_mask):
    gray = to_gray(gray, "gray")
    mask = np.asarray(hint_mask)
    if mask.shape != gray.shape:
        raise ValueError(f"hint_mask has shape {mask.shape}, gray has {gray.shape}: they must match")
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number):
            raise ValueError(f"hint_mask must be boolean, got dtype {mask.dtype}")
        mask = mask != 0
    return gray, mask


def levin_chroma(gray, hint_chroma, hint_mask, *, solver="multigrid", symmetric=True, rtol=DEFAULT_RTOL,
                 data_weight=0.0, guide_chroma=None, chroma_two_sigma2=None):
    """Propagate hint chrominance by Levin et al.'s optimization (SIGGRAPH 2004).

    Minimizes ``J(U) = sum_r (U(r) - sum_s w_rs U(s))^2`` with the hinted pixels fixed,
    i.e. solves ``U(r) = sum_s w_rs U(s)`` at every free pixel ``r``; the same for V.
    Multiplying row ``r`` by ``d_r = sum_s k_rs`` gives the equivalent system
    ``(D - K)_FF U_F = K_FH U_H`` (F: free, H: hinted pixels), symmetric positive
    definite when ``K`` is symmetric (the default). One matrix serves both channels:
    the multigrid hierarchy (or the LU factors) is built once and solves U and V.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        Luminance (the input; RGB is converted with :func:`deepcolor.core.color.to_gray`).
    hint_chroma : ndarray, shape (H, W, C) or (H, W), float
        Values to propagate (U and V in gray levels, C = 2); read only where
        ``hint_mask`` is set. A 2-D array is one channel.
    hint_mask : ndarray, shape (H, W), bool
    solver : {"multigrid", "splu"}
        ``"multigrid"``: conjugate gradients preconditioned by a smoothed-aggregation
        V-cycle (:mod:`deepcolor.baselines.multigrid`; with ``symmetric=False``
        BiCGSTAB with the V-cycle of the symmetrized matrix). ``"splu"``: sparse LU
        (SuperLU, COLAMD ordering), factorized once; exact but slow and memory hungry
        beyond about 256x256 (see ``benchmarks/bench_baselines.py``).
    symmetric : bool
        Pairwise (default) or the paper's per-pixel sigma, see :func:`affinity_kernel`.
    rtol : float
        Relative residual of the iterative solver.
    data_weight : float
        ``lambda >= 0``: adds ``lambda sum_r d_r U(r)^2`` to ``J``, a pull of every free
        pixel toward 0 (0 = the paper's system). Propagating the *difference* between
        hints and a prediction with it (:func:`deepcolor.pipeline.hints.apply_hints`), a
        hint's effect fades with the affinity distance (about ``1/sqrt(lambda)`` pixels
        in flat regions) instead of shifting the whole image. The system stays symmetric
        positive definite, better conditioned.
    guide_chroma, chroma_two_sigma2
        A chroma guide for the affinities, see :func:`affinity_kernel` (default: none,
        the paper's luminance affinities).

    Returns
    -------
    chroma : ndarray, shape (H, W, C), float64
        Equal to ``hint_chroma`` at hinted pixels; all zeros when no pixel is hinted.

    Notes
    -----
    Solver choice, measured by ``benchmarks/bench_baselines.py`` on a SIFT Flow image
    with 50 hints (median CPU seconds on a shared 2-core machine): at 256x256
    multigrid CG 0.36 s, SuperLU 1.5 s (reused for U and V; COLAMD fill-in: 12M factor
    entries), Jacobi-preconditioned CG 12 s (360 iterations), the paper's nonsymmetric
    per-pixel sigma with BiCGSTAB 1.5 s. At 512x512 SuperLU takes 10.5 s and 0.8 GB
    (superlinear growth); at 1024x1024 multigrid CG takes 6.1 s and about 0.5 GB. The
    multigrid (smoothed aggregation, strength-based aggregates, Gauss-Seidel) needs
    6-12 CG iterations whatever the size.
    """
    gray, mask = _check_hints(gray, hint_mask)
    values = np.asarray(hint_chroma, dtype=np.float64)
    if values.ndim == 2:
        values = values[..., None]
    if values.ndim != 3 or values.shape[:2] != gray.shape:
        raise ValueError(f"hint_chroma must have shape {gray.shape + ('C',)}, got {np.shape(hint_chroma)}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if not np.isfinite(data_weight) or data_weight < 0:
        raise ValueError(f"data_weight must be a finite number >= 0, got {data_weight!r}")
    if not np.all(np.isfinite(values[mask])):
        raise ValueError("hint_chroma has non-finite values at hinted pixels")
    n, channels = gray.size, values.shape[2]
    hinted = mask.ravel()
    out = np.zeros((n, channels))
    out[hinted] = values.reshape(n, channels)[hinted]
    if not hinted.any() or hinted.all():
        return out.reshape(values.shape)
    K = affinity_kernel(gray, symmetric=symmetric, guide_chroma=guide_chroma, chroma_two_sigma2=chroma_two_sigma2)
    degree = np.asarray(K.sum(axis=1)).ravel()
    free = ~hinted
    diagonal = degree * (1.0 + data_weight)  # the data term's lambda d_r on the diagonal
    if solver == "splu":
        K_free = K[free]
        A = sp.diags(diagonal[free]) - K_free[:, free]
        b = K_free[:, hinted] @ out[hinted]
        out[free] = spla.splu(sp.csc_matrix(A)).solve(b)
        return out.reshape(values.shape)
    # Hinted values enter the right-hand side; their rows are identities, so starting
    # from the known values keeps them exact and the residual lives on free pixels.
    b = (K @ out) * free[:, None] + out
    A = _grid_system(K, diagonal, free)
    if symmetric:
        del K  # peak memory at 1024x1024
        x, _ = conjugate_gradients(A, b, MultigridSolver(A), x0=out, rtol=rtol)
    else:
        # The V-cycle of the symmetrized system preconditions BiCGSTAB on the paper's one.
        Ks = sp.csr_matrix(0.5 * (K + K.T))
        del K
        hierarchy = MultigridSolver(_grid_system(Ks, np.asarray(Ks.sum(axis=1)).ravel(), free))
        del Ks
        x, _ = bicgstab(A, b, hierarchy, x0=out, rtol=rtol)
    x[hinted] = out[hinted]  # exact already (identity rows); guard against round-off
    return x.reshape(values.shape)


def _grid_system(K, degree, free):
    """``(D - K)`` on the free pixels, identity rows (and zero columns) at hinted ones."""
    rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    keep = free[rows] & free[K.indices]
    # copies of the index arrays: eliminate_zeros works in place and K lives on
    off = sp.csr_matrix((np.where(keep, -K.data, 0.0), K.indices.copy(), K.indptr.copy()), shape=K.shape)
    del rows, keep
    off.eliminate_zeros()
    return sp.csr_matrix(off + sp.diags(np.where(free, degree, 1.0)))


def levin_colorize(gray, hints_rgb, hint_mask, **kwargs):
    """Colorize ``gray`` from colored hints (Levin, Lischinski, Weiss, SIGGRAPH 2004).

    The chrominance (U, V of :mod:`deepcolor.core.color`) of ``hints_rgb`` at the hinted
    pixels is propagated to every other pixel by :func:`levin_chroma`; the luminance
    is ``gray``, unchanged (``rgb2gray(output)`` equals ``gray`` within 1 level where
    the colour fits the RGB gamut; out-of-gamut colours are clipped per channel, as
    :func:`deepcolor.core.color.combine` does).

    Leakage across edges is small (measured in ``tests/test_baselines.py``): on two
    flat halves split by a step edge, one 3x3 hint block each, every pixel stays within
    1.4 levels of its own half's hint chroma, pixels at the edge included; with three
    regions, 5.4 levels at most, at the T-junction where they meet. Because sigma_r
    comes from the local variance, a step in a flat region is a barrier whatever its
    height (4 levels leak as little as 130).

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        The grayscale input (an RGB input is converted to gray first).
    hints_rgb : ndarray, shape (H, W, 3), uint8
        Colours of the hints, read only where ``hint_mask`` is set (e.g. the gray
        image with coloured strokes painted on, as in the paper's demo).
    hint_mask : ndarray, shape (H, W), bool
        Hinted pixels (hard constraints).
    **kwargs
        ``solver``, ``symmetric``, ``rtol`` of :func:`levin_chroma`.

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
        With no hint at all, the gray image (U = V = 0).
    """
    gray, mask = _check_hints(gray, hint_mask)
    hints_rgb = np.asarray(hints_rgb)
    if hints_rgb.shape != gray.shape + (3,):
        raise ValueError(f"hints_rgb has shape {hints_rgb.shape}, expected {gray.shape + (3,)} (the gray image's size)")
    if hints_rgb.dtype != np.uint8:
        raise ValueError(f"hints_rgb must be uint8 (8-bit RGB), got {hints_rgb.dtype}")
    chroma = rgb2yuv(hints_rgb)[..., 1:]
    uv = levin_chroma(gray, chroma, mask, **kwargs)
    return combine(gray, uv / CHROMA_SCALE)
