"""The compiled domain-transform recursive filter against OpenCV's DTF_RF filter."""

import numpy as np
import pytest

from deepcolor.core.recursive_filter import recursive_filter

cv2 = pytest.importorskip("cv2")
if not hasattr(cv2, "ximgproc"):
    pytest.skip("OpenCV without ximgproc (opencv-contrib) to compare against", allow_module_level=True)


def _scene(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None]
    img = 200 - 80 * y + 30 * np.sin(np.linspace(0, 12, w))[None, :] * (y > 0.5)
    return np.clip(img + rng.normal(0, 8, (h, w)), 0, 255).astype(np.uint8)


def _opencv(guide, image, sigma_s, sigma_r, iterations, repeats):
    dtf = cv2.ximgproc.createDTFilter(guide, sigma_s, sigma_r, mode=cv2.ximgproc.DTF_RF, numIters=iterations)
    out = np.ascontiguousarray(image, dtype=np.float32)
    chans = 1 if out.ndim == 2 else out.shape[2]
    for _ in range(repeats):
        if chans in (1, 3, 4):
            out = np.asarray(dtf.filter(out), np.float32).reshape(image.shape)
        else:  # OpenCV filters 1, 3 or 4 channels per call
            out = np.stack([dtf.filter(np.ascontiguousarray(out[..., c])) for c in range(chans)], axis=2)
    return out


@pytest.mark.parametrize("shape,channels,guide_scale,sigmas,iterations,repeats", [
    ((64, 80), 2, 1 / 255, (10.0, 0.4), 3, 5),  # the release's refinement (planar layout)
    ((57, 43), 8, 1, (8.0, 20.0), 3, 1),  # semantic smoothing, 8 classes (interleaved layout)
    ((40, 70), 33, 1, (5.0, 20.0), 3, 1),  # 33 classes
    ((31, 29), 1, 1, (3.0, 10.0), 1, 2),  # 2-D input, one iteration
    ((1, 50), 3, 1, (6.0, 15.0), 2, 1),  # a single row
])
def test_equals_opencv_dtf_rf(shape, channels, guide_scale, sigmas, iterations, repeats):
    rng = np.random.default_rng(channels)
    gray = _scene(*shape)
    guide = gray.astype(np.float32) * guide_scale if guide_scale != 1 else gray
    image = rng.random(shape + ((channels,) if channels > 1 else ()), dtype=np.float32)
    expected = _opencv(guide, image, *sigmas, iterations, repeats)
    got = recursive_filter(guide, image, *sigmas, iterations=iterations, repeats=repeats)
    assert got.shape == image.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_keeps_input_and_stops_at_edges():
    guide = np.zeros((40, 40), np.uint8)
    guide[:, 20:] = 255
    image = np.zeros((40, 40, 2), np.float32)
    image[:, :20, 0] = 1.0
    before = image.copy()
    out = recursive_filter(guide, image, 20.0, 10.0)
    np.testing.assert_array_equal(image, before)
    plane = np.ascontiguousarray(image[..., 0])  # 2-D float32: once filtered in place by mistake
    recursive_filter(guide, plane, 20.0, 10.0)
    np.testing.assert_array_equal(plane, before[..., 0])
    assert out[:, :20, 0].min() > 0.99 and out[:, 20:, 0].max() < 0.01  # no leak across the step


def test_large_image_takes_the_low_memory_layout():
    # above the planar layout's weight budget the interleaved layout runs; same result
    from deepcolor.core import recursive_filter as module

    gray = _scene(48, 64)
    image = np.random.default_rng(1).random((48, 64, 2), dtype=np.float32)
    planar = recursive_filter(gray, image, 8.0, 20.0, repeats=2)
    budget = module._PLANAR_MAX_WEIGHTS
    module._PLANAR_MAX_WEIGHTS = 10
    try:
        interleaved = recursive_filter(gray, image, 8.0, 20.0, repeats=2)
    finally:
        module._PLANAR_MAX_WEIGHTS = budget
    np.testing.assert_allclose(interleaved, planar, atol=1e-6)


@pytest.mark.parametrize("guide,image,kwargs", [
    (np.zeros((4, 4)), np.zeros((4, 5)), {}),
    (np.zeros((4,)), np.zeros((4,)), {}),
    (np.zeros((4, 4)), np.zeros((4, 4)), {"iterations": 0}),
])
def test_bad_input(guide, image, kwargs):
    with pytest.raises(ValueError):
        recursive_filter(guide, image, 5.0, 1.0, **kwargs)
    with pytest.raises(ValueError):
        recursive_filter(np.zeros((4, 4)), np.zeros((4, 4)), 0.0, 1.0)
