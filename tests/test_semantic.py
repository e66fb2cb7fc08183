"""Semantic feature: parser probabilities smoothed by the domain transform, and the histogram."""

import os

import numpy as np
import pytest

pytest.importorskip("torch")

from deepcolor.features.semantic import semantic_histogram, semantic_probabilities, smooth_probabilities  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def parser(tiny_parser):
    return tiny_parser(6)


@pytest.mark.parametrize("shape", [(1, 1), (2, 9), (17, 31), (33, 65), (101, 77), (9, 601)])
def test_probabilities_shape_and_sum_for_odd_sizes(parser, shape):
    gray = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    prob = semantic_probabilities(gray, parser)
    assert prob.shape == shape + (6,) and prob.dtype == np.float32
    assert np.allclose(prob.sum(axis=2), 1, atol=1e-5)
    assert (prob >= 0).all() and np.isfinite(prob).all()


def test_probabilities_deterministic_and_float_input(parser):
    gray = np.random.default_rng(1).integers(0, 256, (40, 50), dtype=np.uint8)
    a = semantic_probabilities(gray, parser)
    b = semantic_probabilities(gray.copy(), parser)
    assert np.array_equal(a, b)
    c = semantic_probabilities(gray.astype(np.float64), parser)
    assert np.allclose(a, c, atol=1e-4)


def test_smoothing_respects_edges():
    """Noisy probabilities become uniform inside each half of a two-region image, not across the edge."""
    rng = np.random.default_rng(2)
    gray = np.zeros((60, 60), np.uint8)
    gray[:, 30:] = 200
    prob = np.zeros((60, 60, 2), np.float32)
    prob[:, :30, 0] = 0.8
    prob[:, 30:, 0] = 0.2
    prob[..., 0] += rng.uniform(-0.15, 0.15, (60, 60)).astype(np.float32)
    prob[..., 1] = 1 - prob[..., 0]
    out = smooth_probabilities(prob, gray)
    assert np.allclose(out.sum(axis=2), 1, atol=1e-5)
    assert out[:, :30, 0].std() < prob[:, :30, 0].std() / 2
    assert out[:, :29, 0].min() > 0.6 and out[:, 31:, 0].max() < 0.4


def test_unsmoothed_is_the_parser_softmax(parser):
    gray = np.random.default_rng(3).integers(0, 256, (24, 24), dtype=np.uint8)
    assert np.array_equal(semantic_probabilities(gray, parser, smooth=False), parser.predict(gray))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 5, 3), np.uint8), "2-D"),
        (np.zeros(5, np.uint8), "2-D"),
        (np.zeros((0, 4), np.uint8), "empty"),
        (np.zeros((4, 4), bool), "dtype"),
        (np.zeros((4, 4), np.int32), "dtype"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        (np.full((4, 4), 300.0), "0..255"),
        (None, "None"),
    ],
)
def test_probabilities_bad_input(parser, bad, match):
    with pytest.raises(ValueError, match=match):
        semantic_probabilities(bad, parser)


def test_histogram():
    prob = np.zeros((2, 3, 4), np.float32)
    prob[..., 1] = 1
    prob[0, 0] = [0.7, 0.1, 0.1, 0.1]
    hist = semantic_histogram(prob)
    assert hist.shape == (4,) and np.isclose(hist.sum(), 1)
    assert np.allclose(hist, [1 / 6, 5 / 6, 0, 0])


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((0, 4, 3)), np.zeros((2, 2, 0)), np.zeros((2, 2, 2), object)])
def test_histogram_bad_input(bad):
    with pytest.raises(ValueError):
        semantic_histogram(bad)


def test_shipped_parser_default():
    from deepcolor.features.scene_parser import SHIPPED_PARSER_DIR, load_parser

    if not os.path.isfile(os.path.join(SHIPPED_PARSER_DIR, "parser.safetensors")):
        pytest.skip("no shipped parser weights")
    gray = np.tile(np.linspace(255, 40, 48, dtype=np.float32)[:, None], (1, 64)).astype(np.uint8)
    prob = semantic_probabilities(gray)
    n = prob.shape[2]
    assert n == load_parser().num_classes and np.allclose(prob.sum(axis=2), 1, atol=1e-5)
    assert semantic_histogram(prob).shape == (n,)
