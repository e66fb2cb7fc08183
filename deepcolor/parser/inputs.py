"""Validation of the gray images given to the scene parser.

Kept free of torch so that :mod:`features.semantic` can check its input before the
parser (and torch) is loaded.
"""

import numpy as np


def check_gray_image(gray, name="gray", check_range=False):
    """Validate a grayscale image: 2-D, non-empty, uint8 or float, both in the 0..255 scale.

    Parameters
    ----------
    gray : array_like, shape (H, W), uint8 or float
        Gray values in the 0..255 scale; float values must be finite.
    name : str
        Used in error messages.
    check_range : bool
        Also refuse float values outside 0..255.

    Returns
    -------
    gray : ndarray, shape (H, W), uint8 or float32, C-contiguous

    Raises
    ------
    ValueError
        ``gray`` is None, not 2-D, empty, of another dtype, has NaN / inf values or (with
        ``check_range``) values outside 0..255.
    """
    if gray is None:
        raise ValueError(f"{name} is None; expected a 2-D (H, W) grayscale image")
    gray = np.asarray(gray)
    if gray.ndim != 2:
        hint = " (convert RGB with deepcolor.color.rgb2gray)" if gray.ndim == 3 else ""
        raise ValueError(f"{name} must be a 2-D (H, W) grayscale image, got shape {gray.shape}{hint}")
    if gray.size == 0:
        raise ValueError(f"{name} is empty (shape {gray.shape})")
    if gray.dtype == np.uint8:
        return np.ascontiguousarray(gray)
    if gray.dtype.kind != "f":
        raise ValueError(f"{name} must be uint8 or float (0..255 scale), got dtype {gray.dtype}")
    if not np.all(np.isfinite(gray)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if check_range and (gray.min() < 0 or gray.max() > 255):
        raise ValueError(f"float {name} must be in the 0..255 scale, got range {gray.min():g}..{gray.max():g}")
    return np.ascontiguousarray(gray, dtype=np.float32)
