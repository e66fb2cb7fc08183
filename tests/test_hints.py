import io

import numpy as np
import pytest
from PIL import Image

from deepcolor.core.color import gray_to_rgb, rgb2gray, rgb2yuv
from deepcolor.core.hints import MARK_TOLERANCE, hints_from_marked, simulate_hints


def _rgb(h=40, w=50, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_simulate_hints_reveals_patches_of_truth():
    rgb = _rgb()
    hints_rgb, mask = simulate_hints(rgb, 5, patch=3, seed=1)
    assert hints_rgb.shape == rgb.shape and hints_rgb.dtype == np.uint8
    assert mask.shape == rgb.shape[:2] and mask.dtype == bool
    np.testing.assert_array_equal(hints_rgb[mask], rgb[mask])
    np.testing.assert_array_equal(hints_rgb[~mask], gray_to_rgb(rgb2gray(rgb))[~mask])
    # 5 patches of 3x3 (overlaps and border clipping can only make it smaller)
    assert 5 <= mask.sum() <= 45


def test_simulate_hints_patch_shape_and_count():
    rgb = _rgb(60, 60)
    _, mask = simulate_hints(rgb, 1, patch=5, seed=3)
    ys, xs = np.nonzero(mask)
    assert ys.max() - ys.min() <= 4 and xs.max() - xs.min() <= 4
    _, single = simulate_hints(rgb, 7, patch=1, seed=3)
    assert single.sum() == 7  # distinct centres


def test_simulate_hints_seeding():
    rgb = _rgb()
    a = simulate_hints(rgb, 10, seed=(0, 4))[1]
    b = simulate_hints(rgb, 10, seed=(0, 4))[1]
    c = simulate_hints(rgb, 10, seed=(0, 5))[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_simulate_hints_zero_and_all():
    rgb = _rgb(4, 5)
    hints_rgb, mask = simulate_hints(rgb, 0)
    assert not mask.any()
    np.testing.assert_array_equal(hints_rgb, gray_to_rgb(rgb2gray(rgb)))
    _, mask = simulate_hints(rgb, 20, patch=1)
    assert mask.all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_hints": -1}, "non-negative"),
        ({"n_hints": 2.5}, "non-negative"),
        ({"n_hints": 21}, "exceeds"),
        ({"n_hints": 1, "patch": 2}, "odd"),
        ({"n_hints": 1, "patch": 0}, "odd"),
    ],
)
def test_simulate_hints_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_hints(_rgb(4, 5), **kwargs)


def test_simulate_hints_input_checks():
    with pytest.raises(ValueError, match="uint8"):
        simulate_hints(np.zeros((4, 4, 3)), 1)
    with pytest.raises(ValueError, match="shape"):
        simulate_hints(np.zeros((4, 4), np.uint8), 1)


def _jpeg_roundtrip(rgb, quality):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def test_marked_strokes_found():
    gray = np.tile(np.linspace(30, 220, 64).astype(np.uint8), (48, 1))
    marked = gray_to_rgb(gray)
    marked[10:14, 5:40] = (200, 60, 40)
    marked[30:33, 20:60] = (70, 110, 190)
    mask = hints_from_marked(gray, marked)
    expected = np.zeros(gray.shape, bool)
    expected[10:14, 5:40] = expected[30:33, 20:60] = True
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize("quality", [75, 95])
def test_marked_tolerates_jpeg(quality):
    """Gray JPEG noise stays under the tolerance; strokes survive (with a thin halo from
    chroma subsampling)."""
    rng = np.random.default_rng(0)
    gray = np.clip(rng.normal(128, 40, (64, 64)), 0, 255).astype(np.uint8)
    gray_file = _jpeg_roundtrip(gray_to_rgb(gray), quality)
    noise = np.abs(rgb2yuv(gray_file)[..., 1:]).max()
    assert noise < MARK_TOLERANCE / 2  # measured: about 1 level
    marked = gray_to_rgb(gray)
    marked[20:28, 10:50] = (220, 70, 50)
    mask = hints_from_marked(gray_file, _jpeg_roundtrip(marked, quality))
    assert mask[21:27, 11:49].all()
    assert not mask[:15].any() and not mask[35:].any()


def test_marked_size_mismatch():
    with pytest.raises(ValueError, match="same size"):
        hints_from_marked(np.zeros((4, 5), np.uint8), np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="tolerance"):
        hints_from_marked(np.zeros((4, 5), np.uint8), np.zeros((4, 5, 3), np.uint8), tolerance=-1)


def test_apply_hints_overrides_locally():
    from deepcolor.core.hints import apply_hints

    rgb = _rgb(20, 30, seed=5)
    gray = rgb2gray(rgb)
    prediction = gray_to_rgb(gray)
    hints_rgb, mask = simulate_hints(rgb, 4, seed=0)
    out = apply_hints(gray, prediction, hints_rgb, mask)
    np.testing.assert_array_equal(out[~mask], prediction[~mask])
    in_gamut = mask & ((out > 0) & (out < 255)).all(axis=2)
    assert np.abs(out[in_gamut].astype(int) - rgb[in_gamut]).max() <= 2
    assert np.abs(rgb2gray(out)[in_gamut].astype(int) - gray[in_gamut]).max() <= 1
    np.testing.assert_array_equal(apply_hints(gray, prediction, hints_rgb, np.zeros_like(mask)), prediction)
    with pytest.raises(ValueError, match="same size"):
        apply_hints(gray, prediction, hints_rgb, mask[:5])
