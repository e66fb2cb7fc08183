"""Chrominance refinement: edge-preserving filters of U and V guided by the gray input.

``jbf``  -- the paper's joint bilateral filter (Petschnigg et al. 2004), via
            ``cv2.ximgproc.jointBilateralFilter`` on float32 U, V (0..255 scale) with the
            gray image (0..255) as the joint image. Parameters :data:`JBF_PARAMS` were
            chosen by measuring PSNR on training images (see ``benchmarks/bench_colorize.py``
            and the notes in :data:`JBF_PARAMS`).
``dt``   -- the release's domain-transform recursive filter (Gastal & Oliveira 2011),
            :mod:`deepcolor.core.recursive_filter`: sigma_s 10, sigma_r 0.4 on the guide Y/255, 3
            iterations, the whole filter applied 5 times to U and to V.
``none`` -- the network's output as it is.

Only U and V change; the luminance is the input's, so the output's Y equals the input
gray up to the 8-bit rounding and clipping of the YUV -> RGB conversion.
"""

import numpy as np

from deepcolor.core.recursive_filter import recursive_filter
from deepcolor.core.settings import REFINE_METHODS

__all__ = ["REFINE_METHODS", "domain_transform", "joint_bilateral", "refine_chroma", "upsample_chroma"]

#: Joint bilateral filter: neighbourhood diameter d (pixels), sigma_color (gray levels,
#: 0..255 scale), sigma_space (pixels). Chosen by measurement: mean PSNR of 42 SIFT Flow
#: training images colorized by one cluster network (no semantic feature), 256x256:
#:
#:   ======================  =========  ================
#:   refinement              PSNR (dB)  s / image (2 cores, shared)
#:   ======================  =========  ================
#:   none                    23.56      0
#:   jbf d 9, 20, 8 (x3)     24.02      0.15
#:   jbf d 15, 20, 10        24.03      0.15
#:   jbf d 21, 30, 15        24.19      0.31
#:   jbf d 9, 40, 8 (x5)     24.12      0.25
#:   dt 10, 0.4 (release)    24.65      0.03
#:   dt 20, 0.4              24.76      0.03
#:   dt 20, 0.2 / 30, 0.4    24.72 / 24.76
#:   ======================  =========  ================
#:
#: The network's per-pixel output is noisy and wide smoothing pays; the bilateral filter's
#: cost grows with d^2, so we keep d = 21 (the best measured) for ``jbf``. The domain
#: transform wins on both PSNR and speed, so it is the default (``ColorizeSettings.refine``).
JBF_PARAMS = {"d": 21, "sigma_color": 30.0, "sigma_space": 15.0}

#: The release's domain transform settings.
DT_PARAMS = {"sigma_s": 10.0, "sigma_r": 0.4, "iterations": 3, "repeats": 5}


def _check(gray, uv):
    gray = np.asarray(gray)
    uv = np.asarray(uv, dtype=np.float32)
    if gray.ndim != 2 or uv.shape != gray.shape + (2,):
        raise ValueError(f"gray (H, W) and uv (H, W, 2) must match, got {gray.shape} and {uv.shape}")
    return gray, uv


def joint_bilateral(gray, uv, d=None, sigma_color=None, sigma_space=None):
    """Joint bilateral filter of U and V (network scale, /255) guided by ``gray`` (uint8)."""
    import cv2

    gray, uv = _check(gray, uv)
    d = JBF_PARAMS["d"] if d is None else d
    sigma_color = JBF_PARAMS["sigma_color"] if sigma_color is None else sigma_color
    sigma_space = JBF_PARAMS["sigma_space"] if sigma_space is None else sigma_space
    guide = gray.astype(np.float32)
    out = np.empty_like(uv)
    for c in range(2):
        src = np.ascontiguousarray(uv[..., c] * 255.0)
        out[..., c] = cv2.ximgproc.jointBilateralFilter(guide, src, int(d), float(sigma_color), float(sigma_space),
                                                         borderType=cv2.BORDER_REFLECT) / 255.0
    return out


def domain_transform(gray, uv, sigma_s=None, sigma_r=None, iterations=None, repeats=None):
    """The release's domain-transform recursive filter of U and V, guide = Y/255.

    :func:`deepcolor.core.recursive_filter.recursive_filter` (the filter of
    ``cv2.ximgproc.createDTFilter(..., DTF_RF)``, equal to float32 rounding, at a third of
    its time for the release's 5 repeats).
    """
    gray, uv = _check(gray, uv)
    p = dict(DT_PARAMS)
    for key, value in (("sigma_s", sigma_s), ("sigma_r", sigma_r), ("iterations", iterations), ("repeats", repeats)):
        if value is not None:
            p[key] = value
    guide = gray.astype(np.float32) / 255.0
    return recursive_filter(guide, uv, float(p["sigma_s"]), float(p["sigma_r"]),
                            iterations=int(p["iterations"]), repeats=int(p["repeats"]))


#: Edge-aware upsampling (:func:`upsample_chroma`): the guided filter's radius is twice the
#: upsampling factor (at least 4 px), so that it spans the band over which bilinear
#: interpolation blurs a colour boundary; ``eps`` on the 0..1 gray scale (1e-3: edges of
#: about 8 gray levels or more are kept). Measured on 118 held-out DAVIS frames (every 5th,
#: 854x480) colorized at 400 px: bilinear alone 24.692 dB, this 24.693 (r 4) / 24.695 (r 8),
#: the release's domain transform (5 passes) 24.704 at 10x the cost and memory; the
#: full-resolution step changes PSNR little, its job is that colours stop at the edges
#: of the full-resolution image.
GUIDED_EPS = 1e-3
#: Rows per band of the guided filter (plus a margin of 2 radii above and below).
UPSAMPLE_BAND_ROWS = 512


def upsample_chroma(uv, gray, *, radius=None, eps=GUIDED_EPS):
    """Chroma predicted at a working resolution, brought to ``gray``'s: edge-aware upsampling.

    U and V are resized bilinearly to the size of ``gray``, then filtered by the guided
    filter (He, Sun, Tang, ECCV 2010; ``cv2.ximgproc.guidedFilter``) with the
    full-resolution gray as the guide, band by band so that memory stays a few rows of
    temporaries beyond the output.

    Parameters
    ----------
    uv : ndarray (h, w, 2) float32, U/255 and V/255 at the working resolution
    gray : ndarray (H, W) uint8, the full-resolution gray image
    radius : int, optional
        Default twice the upsampling factor, at least 4.
    eps : float
        Regularization on the 0..1 gray scale (:data:`GUIDED_EPS`).

    Returns
    -------
    uv : ndarray (H, W, 2) float32
    """
    import cv2

    h, w = gray.shape
    factor = max(h / uv.shape[0], w / uv.shape[1])
    radius = int(radius or max(4, round(2 * factor)))
    up = np.empty((h, w, 2), dtype=np.float32)
    for c in range(2):  # one channel at a time: cv2 would otherwise hold a second full-size copy
        up[..., c] = cv2.resize(np.ascontiguousarray(uv[..., c], dtype=np.float32), (w, h),
                                interpolation=cv2.INTER_LINEAR)
    out = np.empty_like(up)
    margin = 2 * radius + 1
    for r0 in range(0, h, UPSAMPLE_BAND_ROWS):
        r1 = min(h, r0 + UPSAMPLE_BAND_ROWS)
        a0, a1 = max(0, r0 - margin), min(h, r1 + margin)
        guide = gray[a0:a1].astype(np.float32) / 255.0
        band = cv2.ximgproc.guidedFilter(guide, up[a0:a1], radius, float(eps))
        out[r0:r1] = band[r0 - a0:r1 - a0]
    return out


def refine_chroma(gray, uv, method="jbf", **params):
    """Refine network chrominance ``uv`` (H, W, 2; U/255, V/255) guided by ``gray`` (H, W uint8).

    Parameters
    ----------
    method : {"jbf", "dt", "none"}
    params : overrides of :data:`JBF_PARAMS` / :data:`DT_PARAMS`

    Returns
    -------
    uv : ndarray (H, W, 2) float32
    """
    if method in (None, "none"):
        return _check(gray, uv)[1].copy()
    if method == "jbf":
        return joint_bilateral(gray, uv, **params)
    if method == "dt":
        return domain_transform(gray, uv, **params)
    raise ValueError(f"unknown refinement {method!r}; choose one of {', '.join(REFINE_METHODS)}")
