import numpy as np
import pytest

from deepcolor.core.color import YUV_TO_RGB, combine, rgb2yuv
from deepcolor.core.refine import REFINE_METHODS, refine_chroma


def _scene(seed=0):
    rng = np.random.default_rng(seed)
    gray = np.full((60, 80), 60, np.uint8)
    gray[:, 40:] = 200  # a strong vertical edge
    gray = np.clip(gray + rng.normal(0, 3, gray.shape), 0, 255).astype(np.uint8)
    uv = np.zeros((60, 80, 2), np.float32)
    uv[:, :40] = [0.10, -0.05]
    uv[:, 40:] = [-0.08, 0.12]
    noisy = uv + rng.normal(0, 0.03, uv.shape).astype(np.float32)
    return gray, uv, noisy


@pytest.mark.parametrize("method", REFINE_METHODS)
def test_refinement_preserves_luminance(method):
    gray, _, noisy = _scene()
    out = refine_chroma(gray, noisy, method)
    assert out.shape == noisy.shape and out.dtype == np.float32
    rgb = combine(gray, out)
    y = rgb2yuv(rgb)[..., 0]
    yuv = np.dstack([gray, out * 255.0])
    unclipped = np.all(((yuv @ YUV_TO_RGB.T) >= 0) & ((yuv @ YUV_TO_RGB.T) <= 255), axis=2)
    assert unclipped.mean() > 0.9
    # only U, V change: Y is the input's up to 8-bit rounding wherever RGB is not clipped
    assert np.abs(y - gray)[unclipped].max() <= 1.5
    assert np.abs(y - gray).mean() < 0.5


@pytest.mark.parametrize("method", ["jbf", "dt"])
def test_refinement_denoises_without_crossing_edges(method):
    gray, clean, noisy = _scene()
    out = refine_chroma(gray, noisy, method)
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)
    # the two sides keep their own colour next to the edge
    assert out[:, 37, 0].mean() > 0.05 and out[:, 42, 0].mean() < -0.03


def test_constant_chroma_stays_constant():
    gray, _, _ = _scene()
    uv = np.full(gray.shape + (2,), 0.07, np.float32)
    for method in REFINE_METHODS:
        np.testing.assert_allclose(refine_chroma(gray, uv, method), uv, atol=1e-4)


def test_none_returns_a_copy_and_errors():
    gray, _, noisy = _scene()
    out = refine_chroma(gray, noisy, "none")
    assert np.array_equal(out, noisy) and out is not noisy
    with pytest.raises(ValueError):
        refine_chroma(gray, noisy, "median")
    with pytest.raises(ValueError):
        refine_chroma(gray, noisy[:10], "dt")
