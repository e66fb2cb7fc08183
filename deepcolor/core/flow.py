"""Optical flow between gray frames, warping, and the occlusion test of both directions.

Used by the video colorizer (:mod:`deepcolor.pipeline.video`, to carry chroma along the
motion) and by the video benchmark's chroma warping error
(:func:`deepcolor.core.metrics.chroma_warping_error`), so both see the same motion.

Flow is OpenCV's DIS (Kroeger et al. 2016, ``cv2.DISOpticalFlow``, medium preset). The
occlusion test is the forward-backward consistency of Sundaram et al. 2010, the one
video-colorization papers use to mask their warping error (Lai et al. 2018):
a pixel is visible in both frames when ``|b + f(x + b)|^2 < 0.01 (|b|^2 + |f(x + b)|^2) + 0.5``,
with ``b`` the flow from frame t to t-1 and ``f`` the flow from t-1 to t.
"""

import numpy as np

__all__ = ["dis_flow", "warp", "visible_mask", "backward_flow_and_mask"]


def _dis(preset):
    import cv2

    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    if preset not in presets:
        raise ValueError(f"unknown DIS preset {preset!r}; use one of {', '.join(presets)}")
    return cv2.DISOpticalFlow_create(presets[preset])


def dis_flow(source, target, preset="medium"):
    """Dense flow from ``source`` to ``target``: where each pixel of ``source`` is in ``target``.

    Parameters
    ----------
    source, target : ndarray (H, W) uint8, gray frames of one size
    preset : {"medium", "fast", "ultrafast"}

    Returns
    -------
    flow : ndarray (H, W, 2) float32, (dx, dy) in pixels
    """
    source, target = np.ascontiguousarray(source), np.ascontiguousarray(target)
    if source.ndim != 2 or source.shape != target.shape or source.dtype != np.uint8 or target.dtype != np.uint8:
        raise ValueError(f"flow needs two uint8 gray frames of one size, got {source.shape} {source.dtype} and "
                         f"{target.shape} {target.dtype}")
    return _dis(preset).calc(source, target, None)


def _grid(shape):
    h, w = shape
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xx, yy


def warp(image, flow):
    """``image`` (H, W[, C]) sampled at ``x + flow(x)``, bilinearly, borders replicated.

    With ``flow`` from frame t to frame t-1, this brings frame t-1's ``image`` onto frame t.
    """
    import cv2

    xx, yy = _grid(flow.shape[:2])
    return cv2.remap(np.ascontiguousarray(image), xx + flow[..., 0], yy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def visible_mask(backward, forward):
    """Pixels of frame t seen in frame t-1 too: forward-backward consistency (Sundaram et al. 2010).

    Parameters
    ----------
    backward : ndarray (H, W, 2) float32, flow from frame t to frame t-1
    forward : ndarray (H, W, 2) float32, flow from frame t-1 to frame t

    Returns
    -------
    mask : ndarray (H, W) bool, False where the pixel is occluded or leaves the frame
    """
    h, w = backward.shape[:2]
    there = warp(forward, backward)  # f(x + b)
    diff = backward + there
    ok = (diff ** 2).sum(-1) < 0.01 * ((backward ** 2).sum(-1) + (there ** 2).sum(-1)) + 0.5
    xx, yy = _grid((h, w))
    x1, y1 = xx + backward[..., 0], yy + backward[..., 1]
    return ok & (x1 >= 0) & (x1 <= w - 1) & (y1 >= 0) & (y1 <= h - 1)


def backward_flow_and_mask(current, previous, preset="medium"):
    """``(flow from current to previous, visible mask)`` of two gray frames (see :func:`visible_mask`)."""
    backward = dis_flow(current, previous, preset)
    forward = dis_flow(previous, current, preset)
    return backward, visible_mask(backward, forward)
