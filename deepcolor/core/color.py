"""The color space of the Deep Colorization release (``rgb2yuv.m`` / ``yuv2rgb.m``).

All conversions work on 8-bit RGB and float YUV in the 0..255 scale; the networks
see chrominance divided by 255 (:data:`CHROMA_SCALE`).
"""

import numpy as np

#: Rows give Y, U, V as weights of R, G, B (release ``rgb2yuv.m``).
RGB_TO_YUV = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.147, -0.289, 0.436],
        [0.615, -0.515, -0.100],
    ]
)

#: Rows give R, G, B as weights of Y, U, V (release ``yuv2rgb.m``).
YUV_TO_RGB = np.array(
    [
        [1.0, 0.0, 1.14],
        [1.0, -0.39, -0.58],
        [1.0, 2.03, 0.0],
    ]
)

#: Network targets are U / 255 and V / 255; outputs are multiplied back by it.
CHROMA_SCALE = 255.0

#: Rows per band of the full-image conversions: the float64 intermediates of a band, not
#: of the whole image, are held at once (a 48-megapixel photo would need 1.2 GB each).
BAND_ROWS = 256


def _bands(n_rows):
    return ((r0, min(n_rows, r0 + BAND_ROWS)) for r0 in range(0, n_rows, BAND_ROWS))


def _check_rgb(rgb, name="rgb"):
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {rgb.shape}")
    if rgb.size == 0:
        raise ValueError(f"{name} is empty (shape {rgb.shape})")
    if rgb.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (8-bit RGB), got {rgb.dtype}")
    return rgb


def rgb2yuv(rgb):
    """Convert 8-bit RGB to YUV with the release's coefficients.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8

    Returns
    -------
    yuv : ndarray, shape (H, W, 3), float64
        Y in 0..255; U in about -111..111; V in about -157..157.
    """
    rgb = _check_rgb(rgb)
    return rgb.astype(np.float64) @ RGB_TO_YUV.T


def yuv2rgb(yuv):
    """Convert YUV (0..255 scale) to 8-bit RGB: the release's matrix, then round and clip.

    Parameters
    ----------
    yuv : ndarray, shape (H, W, 3), float

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
    """
    yuv = np.asarray(yuv, dtype=np.float64)
    if yuv.ndim != 3 or yuv.shape[2] != 3:
        raise ValueError(f"yuv must have shape (H, W, 3), got {yuv.shape}")
    rgb = yuv @ YUV_TO_RGB.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def rgb2gray(rgb):
    """Grayscale as MATLAB ``rgb2gray`` gives it: the luminance Y rounded to 8 bits.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8

    Returns
    -------
    gray : ndarray, shape (H, W), uint8
    """
    rgb = _check_rgb(rgb)
    gray = np.empty(rgb.shape[:2], dtype=np.uint8)
    for r0, r1 in _bands(rgb.shape[0]):
        y = rgb[r0:r1].astype(np.float64) @ RGB_TO_YUV[0]
        gray[r0:r1] = np.clip(np.rint(y), 0, 255)
    return gray


def to_gray(image, name="image"):
    """Return the 8-bit gray image of ``image`` (gray passes through, RGB is converted).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3), uint8
    name : str
        Used in error messages.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        if image.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8, got {image.dtype}")
        if image.size == 0:
            raise ValueError(f"{name} is empty (shape {image.shape})")
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return rgb2gray(_check_rgb(image, name))
    raise ValueError(f"{name} must have shape (H, W) or (H, W, 3), got {image.shape}")


def chroma_of(rgb):
    """U and V of ``rgb`` scaled for the networks (divided by 255).

    Returns
    -------
    uv : ndarray, shape (H, W, 2), float32
    """
    return (rgb2yuv(rgb)[..., 1:] / CHROMA_SCALE).astype(np.float32)


def combine(gray, uv_scaled):
    """Reassemble RGB from the gray input and network-scale chrominance.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        Luminance, kept as it is.
    uv_scaled : ndarray, shape (H, W, 2), float
        U / 255 and V / 255.

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8
    """
    gray = np.asarray(gray)
    uv_scaled = np.asarray(uv_scaled)
    if gray.ndim != 2 or uv_scaled.shape != gray.shape + (2,):
        raise ValueError(
            f"gray (H, W) and uv (H, W, 2) must match, got {gray.shape} and {uv_scaled.shape}"
        )
    rgb = np.empty(gray.shape + (3,), dtype=np.uint8)
    for r0, r1 in _bands(gray.shape[0]):
        yuv = np.empty((r1 - r0,) + gray.shape[1:] + (3,))
        yuv[..., 0] = gray[r0:r1]
        yuv[..., 1:] = uv_scaled[r0:r1].astype(np.float64) * CHROMA_SCALE
        rgb[r0:r1] = yuv2rgb(yuv)
    return rgb


def gray_to_rgb(gray):
    """The "gray" prediction: U = V = 0, i.e. the luminance copied to R, G and B."""
    return combine(gray, np.zeros(np.shape(gray) + (2,)))
