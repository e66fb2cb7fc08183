"""Levin et al. 2004, Welsh et al. 2002, Reinhard et al. 2001 on synthetic images with known answers."""

import numpy as np
import pytest
import scipy.sparse as sp

from deepcolor.baselines import multigrid
from deepcolor.baselines.levin import affinity_kernel, affinity_matrix, levin_chroma, levin_colorize
from deepcolor.baselines.transfer import (
    jittered_grid,
    lab_to_rgb_float,
    reinhard_transfer,
    remap_luminance,
    rgb_to_lab,
    welsh_transfer,
)
from deepcolor.core.color import gray_to_rgb, rgb2gray, rgb2yuv, yuv2rgb
from deepcolor.core.metrics import psnr


def _yuv_rgb(y, u, v, shape=(3, 3)):
    yuv = np.empty(shape + (3,))
    yuv[..., 0], yuv[..., 1], yuv[..., 2] = y, u, v
    return yuv2rgb(yuv)


def _paint(hints, mask, rows, cols, y, uv):
    block = hints[rows, cols]
    hints[rows, cols] = _yuv_rgb(y, *uv, shape=block.shape[:2])
    mask[rows, cols] = True


def _smooth_image(h=64, w=80):
    """Smooth RGB whose chroma is a smooth function of luminance (inside the gamut)."""
    yy, xx = np.mgrid[:h, :w]
    y = 40 + 119 * xx / (w - 1) + 51 * yy / (h - 1)
    return yuv2rgb(np.stack([y, 30 * np.sin(y / 40), 25 * np.cos(y / 50)], axis=-1))


# --------------------------------------------------------------------------- affinities


def test_affinity_rows_sum_to_one_and_symmetric_kernel():
    gray = np.random.default_rng(0).integers(0, 256, (9, 11)).astype(np.uint8)
    W = affinity_matrix(gray)
    np.testing.assert_allclose(np.asarray(W.sum(axis=1)).ravel(), 1.0)
    assert W.diagonal().max() == 0
    assert np.diff(W.indptr).max() == 8 and np.diff(W.indptr).min() == 3  # interior / corner
    K = affinity_kernel(gray)
    assert abs(K - K.T).max() < 1e-15
    assert K.data.min() > 0 and K.data.max() <= 1
    Kp = affinity_kernel(gray, symmetric=False)
    assert abs(Kp - Kp.T).max() > 1e-3  # the paper's per-pixel sigma is not symmetric


def test_affinity_follows_luminance():
    gray = np.full((5, 5), 100, np.uint8)
    gray[:, 3:] = 200
    W = affinity_matrix(gray).toarray()
    centre = 2 * 5 + 2  # next to the edge
    same, across = W[centre, centre - 1], W[centre, centre + 1]
    assert same > 1e3 * across


def test_affinity_flat_image_averages_equally():
    W = affinity_matrix(np.full((4, 4), 7, np.uint8)).toarray()
    np.testing.assert_allclose(W[5][W[5] > 0], 1 / 8)


# --------------------------------------------------------------------------- Levin


def test_levin_regions_take_their_hint():
    """Three flat regions split by strong edges, one 3x3 hint block each.

    Every region takes its own hint's chroma. Leakage (max |dU|, |dV| over a region,
    pixels at the edges included), measured: 5.4 gray levels at most, at the
    T-junction where the three regions meet; the regions' medians are 1.0-2.0 levels.
    A single straight edge leaks 1.4 levels (:func:`test_levin_straight_edge_leakage`).
    """
    h, w = 48, 64
    gray = np.full((h, w), 60, np.uint8)
    gray[: h // 2, w // 2 :] = 190
    gray[h // 2 :, w // 2 :] = 120
    hints = gray_to_rgb(gray)
    mask = np.zeros((h, w), bool)
    regions = [
        (slice(20, 23), slice(5, 8), 60, (-30, 40)),
        (slice(5, 8), slice(w - 8, w - 5), 190, (35, -20)),
        (slice(h - 8, h - 5), slice(w - 8, w - 5), 120, (10, 30)),
    ]
    for rows, cols, y, uv in regions:
        _paint(hints, mask, rows, cols, y, uv)
    out = levin_colorize(gray, hints, mask)
    out_uv = rgb2yuv(out)[..., 1:]
    hint_uv = rgb2yuv(hints)[..., 1:]
    areas = [(slice(None), slice(0, w // 2)), (slice(0, h // 2), slice(w // 2, None)), (slice(h // 2, None), slice(w // 2, None))]
    leak = []
    for (rows, cols, _, _), area in zip(regions, areas):
        expected = hint_uv[rows, cols][1, 1]
        leak.append(np.abs(out_uv[area] - expected).max())
    assert max(leak) < 10  # the bound
    assert max(leak) < 6  # measured 5.4 (rounding to RGB included)


@pytest.mark.parametrize("step", [(60, 190), (100, 104)])
def test_levin_straight_edge_leakage(step):
    """Two flat halves, one hint each: leakage across the edge, measured 1.4 levels.

    The local-variance sigma makes a step edge in a flat region act the same whatever
    its height: a 4-level step leaks as little as a 130-level one.
    """
    h, w = 48, 64
    gray = np.full((h, w), step[0], np.uint8)
    gray[:, w // 2 :] = step[1]
    hints = gray_to_rgb(gray)
    mask = np.zeros((h, w), bool)
    _paint(hints, mask, slice(20, 23), slice(5, 8), step[0], (-30, 40))
    _paint(hints, mask, slice(20, 23), slice(w - 8, w - 5), step[1], (35, -20))
    hint_uv = rgb2yuv(hints)[..., 1:]
    uv = levin_chroma(gray, hint_uv, mask)
    leak = max(np.abs(uv[:, : w // 2] - hint_uv[21, 6]).max(), np.abs(uv[:, w // 2 :] - hint_uv[21, w - 7]).max())
    assert leak < 2  # measured 1.39


def test_levin_constant_image_one_hint():
    gray = np.full((30, 40), 128, np.uint8)
    hints = gray_to_rgb(gray)
    mask = np.zeros(gray.shape, bool)
    _paint(hints, mask, slice(10, 13), slice(20, 23), 128, (25, -35))
    out = levin_colorize(gray, hints, mask)
    expected = hints[11, 21]
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_levin_preserves_luminance_and_hints():
    """rgb2gray(output) equals the input within 1 level (measured: 0 or 1 from rounding)."""
    rgb = _smooth_image()
    gray = rgb2gray(rgb)
    rng = np.random.default_rng(0)
    mask = np.zeros(gray.shape, bool)
    mask[rng.integers(0, 64, 12), rng.integers(0, 80, 12)] = True
    out = levin_colorize(gray, rgb, mask)
    assert np.abs(rgb2gray(out).astype(int) - gray).max() <= 1
    # hinted pixels keep the hint's chroma (their RGB up to the Y rounding)
    assert np.abs(out[mask].astype(int) - rgb[mask].astype(int)).max() <= 2


def test_levin_no_hint_gives_gray_and_all_hints_give_hints():
    rgb = _smooth_image(20, 24)
    gray = rgb2gray(rgb)
    np.testing.assert_array_equal(levin_colorize(gray, rgb, np.zeros(gray.shape, bool)), gray_to_rgb(gray))
    out = levin_colorize(gray, rgb, np.ones(gray.shape, bool))
    assert np.abs(out.astype(int) - rgb.astype(int)).max() <= 2


def test_levin_solvers_agree():
    rng = np.random.default_rng(1)
    gray = np.clip(rng.normal(120, 40, (40, 50)), 0, 255).astype(np.uint8)
    chroma = rng.normal(0, 30, gray.shape + (2,))
    mask = np.zeros(gray.shape, bool)
    mask[rng.integers(0, 40, 8), rng.integers(0, 50, 8)] = True
    exact = levin_chroma(gray, chroma, mask, solver="splu")
    mg = levin_chroma(gray, chroma, mask, solver="multigrid", rtol=1e-8)
    np.testing.assert_allclose(mg, exact, atol=1e-4)
    default = levin_chroma(gray, chroma, mask)
    assert np.abs(default - exact).max() < 0.5
    # the paper's per-pixel sigma: nonsymmetric system, BiCGSTAB; same answer as LU
    paper = levin_chroma(gray, chroma, mask, symmetric=False, rtol=1e-8)
    paper_lu = levin_chroma(gray, chroma, mask, symmetric=False, solver="splu")
    np.testing.assert_allclose(paper, paper_lu, atol=1e-4)
    np.testing.assert_array_equal(exact[mask], chroma[mask])


def test_levin_isolated_free_pixels():
    """Hints everywhere but on a checkerboard of isolated pixels: no coarse level at all."""
    gray = np.random.default_rng(3).integers(0, 256, (30, 30)).astype(np.uint8)
    chroma = np.random.default_rng(4).normal(0, 20, gray.shape + (2,))
    mask = np.ones(gray.shape, bool)
    mask[1::3, 1::3] = False
    np.testing.assert_allclose(levin_chroma(gray, chroma, mask), levin_chroma(gray, chroma, mask, solver="splu"), atol=1e-9)


def test_levin_chroma_is_a_weighted_average():
    """At free pixels the solution satisfies U(r) = sum_s w_rs U(s) (the paper's constraint)."""
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 256, (16, 18)).astype(np.uint8)
    chroma = rng.normal(0, 20, gray.shape + (1,))
    mask = np.zeros(gray.shape, bool)
    mask[3, 4] = mask[12, 15] = True
    u = levin_chroma(gray, chroma, mask, solver="splu")[..., 0].ravel()
    W = affinity_matrix(gray)
    free = ~mask.ravel()
    np.testing.assert_allclose(u[free], (W @ u)[free], atol=1e-9)


def test_levin_single_pixel_and_tiny():
    gray = np.array([[100]], np.uint8)
    rgb = _yuv_rgb(100, 20, 20, (1, 1))
    np.testing.assert_array_equal(levin_colorize(gray, rgb, np.ones((1, 1), bool)), rgb)
    np.testing.assert_array_equal(levin_colorize(gray, rgb, np.zeros((1, 1), bool)), gray_to_rgb(gray))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((4, 5), np.uint8), np.zeros((4, 5, 3), np.uint8), np.zeros((5, 4), bool)), "hint_mask has shape"),
        ((np.zeros((4, 5), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), bool)), "hints_rgb has shape"),
        ((np.zeros((4, 5), np.uint8), np.zeros((4, 5, 3)), np.zeros((4, 5), bool)), "uint8"),
        ((np.zeros((4, 5)), np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), bool)), "gray must be uint8"),
        ((np.zeros((4, 5), np.uint8), np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), "U1")), "boolean"),
    ],
)
def test_levin_input_errors(args, match):
    with pytest.raises(ValueError, match=match):
        levin_colorize(*args)


def test_levin_chroma_errors():
    gray = np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match="solver"):
        levin_chroma(gray, np.zeros((4, 5, 2)), np.ones((4, 5), bool), solver="magic")
    with pytest.raises(ValueError, match="hint_chroma must have shape"):
        levin_chroma(gray, np.zeros((5, 4, 2)), np.ones((4, 5), bool))
    bad = np.zeros((4, 5, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        levin_chroma(gray, bad, np.ones((4, 5), bool))


def test_multigrid_solves_a_laplacian():
    n = 50
    lap1 = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    A = sp.csr_matrix(sp.kronsum(lap1, lap1) + 1e-3 * sp.identity(n * n))
    b = np.random.default_rng(0).normal(size=(n * n, 2))
    hierarchy = multigrid.MultigridSolver(A)
    assert len(hierarchy.levels) >= 2
    x, iterations = multigrid.conjugate_gradients(A, b, hierarchy, rtol=1e-8)
    assert np.linalg.norm(A @ x - b) <= 1e-7 * np.linalg.norm(b)
    assert max(iterations) < 40
    with pytest.raises(RuntimeError, match="did not converge"):
        multigrid.conjugate_gradients(A, b, hierarchy, rtol=1e-14, maxiter=1)


# --------------------------------------------------------------------------- Welsh / Reinhard


def test_welsh_self_reference_recovers_smooth_image():
    rgb = _smooth_image()
    out = welsh_transfer(rgb2gray(rgb), rgb)
    assert psnr(rgb, out) > 30  # measured 52.5 dB
    assert np.abs(rgb2gray(out).astype(int) - rgb2gray(rgb)).max() <= 1


def test_welsh_takes_chroma_of_matching_luminance():
    # reference: dark half blue, bright half orange; the target's dark pixels turn blue
    ref = np.zeros((40, 40, 3), np.uint8)
    ref[:, :20] = _yuv_rgb(60, 30, -20, (40, 20))
    ref[:, 20:] = _yuv_rgb(180, -25, 30, (40, 20))
    gray = np.full((30, 30), 60, np.uint8)
    gray[:, 15:] = 180
    out_uv = rgb2yuv(welsh_transfer(gray, ref, samples=50))[..., 1:]
    assert np.abs(out_uv[:, :10] - (30, -20)).max() < 2
    assert np.abs(out_uv[:, 20:] - (-25, 30)).max() < 2


def test_welsh_deterministic_and_seeded():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (30, 40)).astype(np.uint8)
    a = welsh_transfer(gray, ref, seed=3)
    np.testing.assert_array_equal(a, welsh_transfer(gray, ref, seed=3))
    assert not np.array_equal(a, welsh_transfer(gray, ref, seed=4))
    assert welsh_transfer(gray, ref[:3, :4], samples=500).shape == (30, 40, 3)  # more samples than pixels


def test_jittered_grid_one_sample_per_cell():
    rows, cols = jittered_grid((100, 200), 200, np.random.default_rng(0))
    assert len(rows) == 200  # 10 x 20 cells
    cells = set(zip(rows // 10, cols // 10))
    assert len(cells) == 200


def test_remap_luminance_matches_statistics():
    rng = np.random.default_rng(0)
    ref, target = rng.normal(50, 10, 1000), rng.normal(150, 30, 500)
    out = remap_luminance(ref, target)
    assert out.mean() == pytest.approx(target.mean()) and out.std() == pytest.approx(target.std())
    np.testing.assert_allclose(remap_luminance(np.full(5, 3.0), target), target.mean())


def test_reinhard_tints_with_reference_mean_chroma():
    """A gray target gets the reference's mean alpha/beta at its own luminance: the hue
    of a uniform reference, luminance kept."""
    colour = np.array([[[200, 120, 60]]], np.uint8)
    ref = np.repeat(np.repeat(colour, 10, 0), 10, 1)
    gray = np.tile(np.linspace(60, 200, 32).astype(np.uint8), (8, 1))
    out = reinhard_transfer(gray, ref)
    # luminance kept wherever the tinted colour fits the gamut; bright pixels clip
    in_gamut = ((out > 0) & (out < 255)).all(axis=2)
    assert in_gamut[:, :20].all()
    assert np.abs(rgb2gray(out).astype(int) - gray)[in_gamut].max() <= 1
    uv = rgb2yuv(out)[in_gamut][:, 1:]
    ref_uv = rgb2yuv(colour)[0, 0, 1:]
    cosine = uv @ ref_uv / (np.linalg.norm(uv, axis=1) * np.linalg.norm(ref_uv))
    assert cosine.min() > 0.99
    same_y = reinhard_transfer(np.full((2, 2), rgb2gray(colour)[0, 0]), ref)
    assert np.abs(same_y[0, 0].astype(int) - colour[0, 0]).max() < 25  # measured 18 (log-space tint)


def test_lab_round_trip():
    rgb = np.random.default_rng(0).integers(3, 256, (10, 10, 3)).astype(np.float64)
    np.testing.assert_allclose(lab_to_rgb_float(rgb_to_lab(rgb)), rgb, atol=1e-6)


@pytest.mark.parametrize("fn", [welsh_transfer, reinhard_transfer])
def test_transfer_input_errors(fn):
    with pytest.raises(ValueError, match="reference_rgb must have shape"):
        fn(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        fn(np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="gray"):
        fn(np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.uint8))


def test_welsh_samples_error():
    with pytest.raises(ValueError, match="samples"):
        welsh_transfer(np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.uint8), samples=0)


def test_chroma_guide_cuts_affinities_at_an_isoluminant_edge():
    gray = np.full((6, 8), 100.0)
    chroma = np.zeros((6, 8, 2))
    chroma[:, 4:, 1] = 5.0  # gray levels of V
    plain = affinity_kernel(gray).toarray()
    guided = affinity_kernel(gray, guide_chroma=chroma, chroma_two_sigma2=2.0).toarray()
    r, s_same, s_across = 2 * 8 + 2, 2 * 8 + 3, 2 * 8 + 4  # (2,2)-(2,3) same side, (2,3)-(2,4) across
    assert plain[s_same, s_across] == pytest.approx(plain[r, s_same])
    assert guided[r, s_same] == pytest.approx(plain[r, s_same])
    assert guided[s_same, s_across] == pytest.approx(plain[s_same, s_across] * np.exp(-25.0 / 2.0))
    assert np.allclose(guided, guided.T)
    with pytest.raises(ValueError, match="chroma_two_sigma2"):
        affinity_kernel(gray, guide_chroma=chroma)
    with pytest.raises(ValueError, match="guide_chroma"):
        affinity_kernel(gray, guide_chroma=chroma[:3], chroma_two_sigma2=1.0)
