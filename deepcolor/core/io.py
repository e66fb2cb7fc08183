"""Reading and writing images: every common file flavour becomes 8-bit RGB or gray.

Handles EXIF orientation, grayscale, gray + alpha, RGBA, palette, 16-bit and CMYK
files. Unreadable or truncated files raise :class:`ImageReadError` naming the file.
"""

import os

import numpy as np
from PIL import Image, ImageOps

from deepcolor.core.color import rgb2gray
from deepcolor.core.files import atomic_write

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm")


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the reason."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = str(reason)
        super().__init__(f"{self.path}: {self.reason}")


def _sixteen_bit_to_8(array):
    # 65535 -> 255 exactly; rounding keeps the mapping monotone and unbiased.
    return np.clip(np.rint(array.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def _composite_on_white(rgb, alpha):
    a = alpha.astype(np.float64)[..., None] / 255.0
    out = rgb.astype(np.float64) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _pil_to_rgb(img):
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        gray = np.asarray(img)
        gray = _sixteen_bit_to_8(gray) if gray.max(initial=0) > 255 or mode.startswith("I;16") else gray.astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        gray = np.asarray(img, dtype=np.float64)
        scale = 255.0 if gray.max(initial=0) <= 1.0 else 1.0
        gray = np.clip(np.rint(gray * scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode in ("1", "L"):
        gray = np.asarray(img.convert("L"))
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode == "LA":
        la = np.asarray(img)
        return _composite_on_white(np.repeat(la[..., :1], 3, axis=2), la[..., 1])
    if mode in ("RGBA", "RGBa", "PA"):
        rgba = np.asarray(img.convert("RGBA"))
        return _composite_on_white(rgba[..., :3], rgba[..., 3])
    if mode == "RGB":
        return np.asarray(img)
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(img.convert("RGB"))
    if mode.startswith("RGB") or mode.startswith("BGR"):
        return np.asarray(img.convert("RGB"))
    raise ValueError(f"unsupported image mode {mode!r}")


def load_rgb(path):
    """Read an image file as 8-bit RGB.

    EXIF orientation is applied; gray, palette, CMYK and 16-bit files are converted;
    transparent pixels are composited on white.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    rgb : ndarray, shape (H, W, 3), uint8

    Raises
    ------
    ImageReadError
        The file is missing, not an image, truncated or empty. (Truncation is PIL's error
        unless the calling program sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``; importing
        deepcolor changes no such global.)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageReadError(path, "file not found")
    if os.path.isdir(path):
        raise ImageReadError(path, "is a directory, not an image file")
    return _decode(path, path)


def decode_image(data, name, max_pixels=None):
    """:func:`load_rgb` of an image file's bytes (an upload); ``name`` is what errors call it.

    ``max_pixels`` refuses a larger image before decoding it (``ImageReadError`` giving its size).
    """
    import io

    return _decode(io.BytesIO(data), name, max_pixels)


def _decode(source, path, max_pixels=None):
    try:
        with Image.open(source) as img:
            if max_pixels and img.width * img.height > max_pixels:
                raise ImageReadError(path, f"is {img.width}x{img.height} ({img.width * img.height / 1e6:.1f} "
                                     f"megapixels); the limit is {max_pixels / 1e6:g} megapixels")
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = _pil_to_rgb(img)
    except ImageReadError:
        raise
    except Exception as exc:  # PIL raises many types for bad files; the file name is what matters
        reason = str(exc) or type(exc).__name__
        if "cannot identify image file" in reason:
            reason = "not an image, or an image format this program cannot read"
        elif "truncated" in reason.lower():
            reason = f"truncated image file ({reason})"
        raise ImageReadError(path, f"cannot read image: {reason}") from exc
    if rgb.size == 0:
        raise ImageReadError(path, "image has no pixels")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def load_gray(path):
    """Read an image file as 8-bit gray (the release's luminance of its RGB).

    Returns
    -------
    gray : ndarray, shape (H, W), uint8
    """
    return rgb2gray(load_rgb(path))


def save_image(path, image, *, overwrite=False):
    """Write an 8-bit gray or RGB image; refuses to replace an existing file unless ``overwrite``.

    The format follows the extension. The file is written to a temporary name first
    and renamed, so an interrupted write never leaves a half file under ``path``.
    """
    path = os.fspath(path)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"{path}: can only save uint8 (H, W) or (H, W, 3) images, got {image.dtype} {image.shape}")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path}: exists (use --force / overwrite=True to replace it)")
    fmt = output_format(path)
    with atomic_write(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def output_format(path):
    """The PIL format that writes ``path``, by its extension; ``ValueError`` listing the
    supported extensions when it has none of them."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    fmt = Image.registered_extensions().get(ext) if ext in IMAGE_EXTENSIONS else None
    if fmt is None:
        raise ValueError(f"{path}: cannot write images with the extension {ext or '(none)'!r}; "
                         f"use one of {', '.join(IMAGE_EXTENSIONS)}")
    return fmt


def is_image_file(path):
    """True when ``path`` has an image extension this package reads."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS

