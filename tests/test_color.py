import numpy as np
import pytest

from deepcolor.core.color import (
    CHROMA_SCALE, chroma_of, combine, gray_to_rgb, rgb2gray, rgb2yuv, to_gray, yuv2rgb,
)


def _random_rgb(shape=(37, 41), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape + (3,), dtype=np.uint8)


def test_release_coefficients_on_primaries():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    yuv = rgb2yuv(rgb)
    np.testing.assert_allclose(yuv[0, 0], 255 * np.array([0.299, -0.147, 0.615]))
    np.testing.assert_allclose(yuv[0, 1], 255 * np.array([0.587, -0.289, -0.515]))
    np.testing.assert_allclose(yuv[0, 2], 255 * np.array([0.114, 0.436, -0.100]))


def test_round_trip_within_one_level():
    rgb = _random_rgb((64, 64))
    back = yuv2rgb(rgb2yuv(rgb))
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_round_trip_all_colors_on_a_grid():
    v = np.arange(0, 256, 15, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(-1, 1, 3)
    back = yuv2rgb(rgb2yuv(rgb))
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_gray_is_rounded_luminance():
    rgb = np.array([[[10, 20, 30], [255, 255, 255], [1, 2, 2]]], dtype=np.uint8)
    expected = np.rint(rgb.astype(float) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    np.testing.assert_array_equal(rgb2gray(rgb), expected)
    assert rgb2gray(rgb).dtype == np.uint8


def test_chroma_scaling_and_combine():
    rgb = _random_rgb()
    uv = chroma_of(rgb)
    assert uv.dtype == np.float32 and uv.shape == rgb.shape[:2] + (2,)
    np.testing.assert_allclose(uv * CHROMA_SCALE, rgb2yuv(rgb)[..., 1:], atol=1e-3)
    back = combine(rgb2gray(rgb), uv)
    # luminance is rounded before reassembly, so up to ~2 levels of error per channel
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 2


def test_gray_prediction_copies_luminance():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = gray_to_rgb(gray)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray)


def test_combine_clips():
    gray = np.full((2, 2), 250, np.uint8)
    out = combine(gray, np.full((2, 2, 2), 0.5))
    assert out.dtype == np.uint8 and out.max() == 255


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 3), np.float32), "uint8"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
    ],
)
def test_rgb_validation(bad, message):
    with pytest.raises(ValueError, match=message):
        rgb2yuv(bad)


def test_to_gray_accepts_gray_and_rgb():
    rgb = _random_rgb()
    np.testing.assert_array_equal(to_gray(rgb), rgb2gray(rgb))
    g = rgb2gray(rgb)
    assert to_gray(g) is g
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((3, 3, 2), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        to_gray(np.zeros((3, 3), np.float64))
