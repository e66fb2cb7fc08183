"""Input checks shared by the feature extractors.

Every extractor of :mod:`features` takes a 2-D gray image, either ``uint8`` or a float
array in the same 0..255 scale (the release works on 8-bit gray images, so the patch
feature divides by 255 and DAISY sees ``gray / 255``). Anything else is refused with a
:class:`ValueError` that says what was wrong.
"""

import numpy as np


def check_gray(gray, name="gray", *, check_range=False):
    """Validate a gray image and return it as an ndarray (never copied when valid).

    The one gray-image check of deepcolor: the feature extractors, the scene parser and
    the semantic feature all use it.

    Parameters
    ----------
    gray : array_like, shape (H, W), uint8 or float
        Gray values in the 0..255 scale. Float input must be finite.
    name : str
        Used in error messages.
    check_range : bool
        Also refuse float values outside 0..255.

    Returns
    -------
    gray : ndarray, shape (H, W), uint8 or floating dtype (unchanged)

    Raises
    ------
    ValueError
        Wrong number of dimensions, empty image, dtype other than uint8 or float
        (bool, other integer types, complex, object), NaN / inf values, or (with
        ``check_range``) float values outside 0..255.
    """
    if gray is None:
        raise ValueError(f"{name} is None; expected a 2-D (H, W) grayscale image")
    gray = np.asarray(gray)
    if gray.ndim != 2:
        hint = " (convert RGB with deepcolor.core.color.rgb2gray)" if gray.ndim == 3 else ""
        raise ValueError(f"{name} must be a 2-D gray image of shape (H, W), got ndim={gray.ndim} "
                         f"(shape {gray.shape}){hint}")
    if gray.size == 0:
        raise ValueError(f"{name} is empty (shape {gray.shape})")
    if gray.dtype == np.uint8:
        return gray
    if not np.issubdtype(gray.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or float (0..255 scale), got dtype {gray.dtype}")
    if not np.all(np.isfinite(gray)):
        raise ValueError(f"{name} contains NaN or inf values")
    if check_range and (gray.min() < 0 or gray.max() > 255):
        raise ValueError(f"float {name} must be in the 0..255 scale, got range {gray.min():g}..{gray.max():g}")
    return gray


def gray_as_float32(gray):
    """The validated gray image as C-contiguous float32 in the 0..255 scale."""
    return np.ascontiguousarray(gray, dtype=np.float32)


def contiguous_gray(gray):
    """The validated gray image as C-contiguous uint8 (kept) or float32 (any float)."""
    return np.ascontiguousarray(gray) if gray.dtype == np.uint8 else gray_as_float32(gray)


def check_points(gray, rows, cols):
    """Validate the inputs of an extractor that describes given pixels only.

    Parameters
    ----------
    gray : array_like, shape (H, W), uint8 or float
        See :func:`check_gray`.
    rows, cols : array_like of int, shape (n,)
        See :func:`check_coords`.

    Returns
    -------
    img : ndarray, shape (H, W), float32
        :func:`gray_as_float32` of the image.
    rows, cols : ndarray, shape (n,), int64
    """
    gray = check_gray(gray)
    rows, cols = check_coords(rows, cols, gray.shape)
    return gray_as_float32(gray), rows, cols


def check_semantic(semantic, shape, name="semantic"):
    """Validate a per-pixel semantic probability map against the image shape.

    The map is not copied or converted (callers cast band by band, so a large float64
    map never gets a full-size float32 twin); the finiteness check also runs in chunks.

    Parameters
    ----------
    semantic : array_like or None, shape (H, W, N), float
        Per-pixel class probabilities (paper: N = 33 SIFT Flow classes).
    shape : tuple (H, W)
        The gray image's shape.

    Returns
    -------
    semantic : ndarray, shape (H, W, N), float (unchanged), or None when ``semantic`` is None.
    """
    if semantic is None:
        return None
    semantic = np.asarray(semantic)
    if semantic.ndim != 3:
        raise ValueError(f"{name} must have shape (H, W, N), got shape {semantic.shape}")
    if semantic.shape[:2] != tuple(shape):
        raise ValueError(f"{name} has spatial shape {semantic.shape[:2]}, expected {tuple(shape)} (the gray image's)")
    if semantic.shape[2] == 0:
        raise ValueError(f"{name} has no channels (shape {semantic.shape})")
    if not np.issubdtype(semantic.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {semantic.dtype}")
    step = max(1, (1 << 22) // max(1, semantic.shape[1] * semantic.shape[2]))
    for r in range(0, semantic.shape[0], step):
        if not np.all(np.isfinite(semantic[r : r + step])):
            raise ValueError(f"{name} contains NaN or inf values")
    return semantic


def check_coords(rows, cols, shape):
    """Validate sample coordinates.

    Parameters
    ----------
    rows, cols : array_like of int, shape (n,)
        Pixel coordinates, ``0 <= rows < H`` and ``0 <= cols < W``.
    shape : tuple (H, W)

    Returns
    -------
    rows, cols : ndarray, shape (n,), int64
    """
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    if rows.ndim != 1 or cols.ndim != 1:
        raise ValueError(f"rows and cols must be 1-D, got shapes {rows.shape} and {cols.shape}")
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same length, got {rows.shape[0]} and {cols.shape[0]}")
    for nm, a in (("rows", rows), ("cols", cols)):
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{nm} must be integers, got dtype {a.dtype}")
    rows = rows.astype(np.int64, copy=False)
    cols = cols.astype(np.int64, copy=False)
    h, w = shape
    if rows.size:
        if rows.min() < 0 or rows.max() >= h:
            raise ValueError(f"rows must lie in [0, {h}), got range [{rows.min()}, {rows.max()}]")
        if cols.min() < 0 or cols.max() >= w:
            raise ValueError(f"cols must lie in [0, {w}), got range [{cols.min()}, {cols.max()}]")
    return rows, cols
