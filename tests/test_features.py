"""Per-pixel features: patch order and border rule, DAISY vs scikit-image, assembly, bands."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from deepcolor import features
from deepcolor.features import daisy as daisy_mod

SK_ARGS = dict(step=1, radius=7, rings=1, histograms=3, orientations=8)


def smooth_image(h, w, seed=0):
    """A random image with some structure (smoothed noise), uint8."""
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.random((h, w)) * 255, 1.5)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return np.rint(img).astype(np.uint8)


# ----------------------------------------------------------------------------- patch
def test_patch_order_and_border_rule_hand_built():
    h, w = 5, 6
    gray = (np.arange(h * w).reshape(h, w) * 7 + 3).astype(np.uint8)  # all values distinct
    p = features.extract_patches(gray)
    assert p.shape == (h, w, 49) and p.dtype == np.float32
    for r in range(h):
        for c in range(w):
            for dx in range(-3, 4):
                for dy in range(-3, 4):
                    k = (dx + 3) * 7 + (dy + 3)
                    rr, cc = r + dy, c + dx
                    inside = 0 <= rr < h and 0 <= cc < w
                    expected = gray[rr, cc] if inside else gray[r, c]
                    assert p[r, c, k] == np.float32(expected / 255.0), (r, c, dy, dx)
    # entry 24 is the centre, entries 0..6 the left column top to bottom
    assert np.array_equal(p[..., 24], (gray / 255.0).astype(np.float32))


def test_patch_interior_is_matlab_column_major():
    gray = smooth_image(20, 21)
    p = features.extract_patches(gray)
    r, c = 9, 11
    window = gray[r - 3 : r + 4, c - 3 : c + 4]
    assert np.array_equal(p[r, c], (window.ravel(order="F") / 255.0).astype(np.float32))


def test_patch_single_pixel_and_float_input():
    p = features.extract_patches(np.array([[51]], dtype=np.uint8))
    assert p.shape == (1, 1, 49)
    assert np.all(p == np.float32(0.2))
    gray = smooth_image(12, 9, seed=3)
    assert np.array_equal(features.extract_patches(gray), features.extract_patches(gray.astype(np.float64)))
    rows, cols = np.array([0, 11, 5]), np.array([8, 0, 4])
    assert np.array_equal(features.patches_at(gray, rows, cols), features.extract_patches(gray)[rows, cols])


# ----------------------------------------------------------------------------- DAISY
def test_daisy_ring_offsets_match_scikit_image_layout():
    assert daisy_mod.RING_OFFSETS.tolist() == [[0, 7], [6, -3], [-6, -4]]
    assert daisy_mod.KERNEL_RADIUS == 14 and daisy_mod.SIGMA == 3.5


@pytest.mark.parametrize("normalization", ["daisy", "l2", "off"])
def test_daisy_matches_scikit_image_interior(normalization):
    skfeature = pytest.importorskip("skimage.feature")
    gray = smooth_image(72, 90, seed=1)
    ref = skfeature.daisy(gray, normalization=normalization, **SK_ARGS)  # rows 7..H-8
    ours = features.extract_daisy(gray, normalization=normalization)
    assert ours.shape == (72, 90, 32) and ours.dtype == np.float32
    m = 20  # pixels at least 20 px from the border
    diff = np.abs(ours[m:-m, m:-m] - ref[m - 7 : -(m - 7), m - 7 : -(m - 7)])
    assert diff.max() <= 1e-4
    # in fact everywhere scikit-image has a descriptor, up to float32 rounding
    assert np.abs(ours[7:-7, 7:-7] - ref).max() <= 1e-5


def test_daisy_histograms_are_unit_l2():
    gray = smooth_image(30, 33, seed=2)
    d = features.extract_daisy(gray)
    norms = np.linalg.norm(d.reshape(30, 33, 4, 8).astype(np.float64), axis=3)
    assert np.allclose(norms, 1.0, atol=1e-5)
    d2 = features.extract_daisy(gray, normalization="l2")
    assert np.allclose(np.linalg.norm(d2.astype(np.float64), axis=2), 1.0, atol=1e-5)


@pytest.mark.parametrize("k", range(8))
def test_daisy_oriented_edge_lands_in_expected_bin(k):
    # bin k is centred on angle 2 pi k / 8 - pi (scikit-image's order); an edge whose
    # gradient (dark to bright; x to the right, y downwards) points along that angle.
    # The edge is soft (blurred step), so that forward differences see its direction
    # rather than a staircase.
    angle = 2 * math.pi * k / 8 - math.pi
    n = 41
    y, x = np.mgrid[0:n, 0:n] - n // 2
    proj = x * math.cos(angle) + y * math.sin(angle)
    gray = 128 + 100 * np.tanh(proj / 3)  # float input, 0..255 scale
    d = features.extract_daisy(gray, normalization="off")
    centre = d[n // 2, n // 2, :8]
    assert int(np.argmax(centre)) == k
    # the opposite direction gets (almost) nothing
    assert centre[(k + 4) % 8] < 0.01 * centre[k]
    # the same with a 8-bit blurred step edge
    step = ndimage.gaussian_filter(np.where(proj > 0, 220.0, 30.0), 2.0)
    d8 = features.extract_daisy(np.rint(step).astype(np.uint8), normalization="off")
    assert int(np.argmax(d8[n // 2, n // 2, :8])) == k


def test_daisy_rotation_by_90_degrees_shifts_bins_by_two():
    gray = np.zeros((41, 41), dtype=np.uint8)
    gray[:, 21:] = 255  # gradient along +x: bin 4
    d = features.extract_daisy(gray, normalization="off")[20, 20, :8]
    # transpose: gradient along +y (angle pi/2): bin 6
    dt = features.extract_daisy(np.ascontiguousarray(gray.T), normalization="off")[20, 20, :8]
    assert np.argmax(d) == 4 and np.argmax(dt) == 6
    assert np.allclose(np.roll(d, 2), dt, rtol=1e-5, atol=1e-6)


def test_daisy_ring_histograms_and_mirrored_border():
    gray = smooth_image(40, 45, seed=4)
    d = features.extract_daisy(gray, normalization="off")
    centre = d[..., :8]
    # ring histogram j of pixel (r, c) is the centre histogram of (r + dy_j, c + dx_j)
    r, c = 20, 20
    for j, (dy, dx) in enumerate(daisy_mod.RING_OFFSETS):
        assert np.array_equal(d[r, c, 8 * (j + 1) : 8 * (j + 2)], centre[r + dy, c + dx])
    # outside the image the position is mirrored: -1 -> 0, -2 -> 1, W -> W - 1, ...
    r, c = 2, 41  # ring 0 at (2, 48) -> col 2*45-1-48 = 41; ring 2 at (-4, 37) -> row 3
    assert np.array_equal(d[r, c, 8:16], centre[2, 41])
    assert np.array_equal(d[r, c, 24:32], centre[3, 37])
    r, c = 38, 1  # ring 1 at (44, -2) -> (2*40-1-44, 1) = (35, 1)
    assert np.array_equal(d[r, c, 16:24], centre[35, 1])


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (3, 5), (8, 2), (14, 15)])
def test_daisy_tiny_images(shape):
    rng = np.random.default_rng(5)
    gray = (rng.random(shape) * 255).astype(np.uint8)
    d = features.extract_daisy(gray)
    assert d.shape == shape + (32,) and np.all(np.isfinite(d))
    f = features.pixel_features(gray)
    assert f.shape == shape + (81,) and np.all(np.isfinite(f))


def test_daisy_constant_image_is_uniform():
    d = features.extract_daisy(np.full((20, 20), 77, dtype=np.uint8))
    # only the 1e-10 offset remains: every bin 1 / sqrt(8) after normalization
    assert np.allclose(d, 1 / math.sqrt(8))


def test_daisy_band_size_does_not_change_result():
    gray = smooth_image(61, 37, seed=6)
    whole = features.extract_daisy(gray)
    for rows in (1, 5, 22, 60):
        assert np.array_equal(features.extract_daisy(gray, band_rows=rows), whole)
    rows, cols = np.array([0, 60, 30, 30, 12]), np.array([36, 0, 18, 18, 5])
    assert np.array_equal(features.daisy_at(gray, rows, cols, band_rows=7), whole[rows, cols])
    for norm in ("l2", "off"):
        whole = features.extract_daisy(gray, normalization=norm)
        assert np.array_equal(features.extract_daisy(gray, normalization=norm, band_rows=9), whole)
        assert np.array_equal(features.daisy_at(gray, rows, cols, normalization=norm), whole[rows, cols])


# ----------------------------------------------------------------------------- assembly
def test_pixel_features_layout_dtype_and_determinism():
    gray = smooth_image(33, 29, seed=7)
    rng = np.random.default_rng(7)
    sem = rng.random((33, 29, 5))
    f = features.pixel_features(gray, sem)
    assert f.shape == (33, 29, 86) and f.dtype == np.float32
    assert np.array_equal(f[..., :49], features.extract_patches(gray))
    assert np.array_equal(f[..., 49:81], features.extract_daisy(gray))
    assert np.array_equal(f[..., 81:], sem.astype(np.float32))
    assert np.array_equal(f, features.pixel_features(gray, sem))
    assert features.pixel_features(gray).shape == (33, 29, 81)
    assert features.feature_dims(33) == 114


def test_bands_equal_whole_image():
    gray = smooth_image(150, 47, seed=8)
    sem = np.random.default_rng(8).random((150, 47, 3)).astype(np.float32)
    whole = features.pixel_features(gray, sem, band_rows=1000)
    for band_rows in (1, 13, 64, None):
        assert np.array_equal(features.pixel_features(gray, sem, band_rows=band_rows), whole)
        bands = list(features.iter_feature_bands(gray, sem, band_rows=band_rows))
        starts = [b[0] for b in bands]
        assert starts[0] == 0 and bands[-1][1] == 150
        assert all(b[1] == n[0] for b, n in zip(bands, bands[1:]))
        assert np.array_equal(np.concatenate([b[2] for b in bands]), whole)
    assert len(list(features.iter_feature_bands(gray, band_rows=40))) == 4


def test_features_at_equals_gather():
    gray = smooth_image(90, 70, seed=9)
    sem = np.random.default_rng(9).random((90, 70, 4))
    whole = features.pixel_features(gray, sem)
    rng = np.random.default_rng(10)
    rows = rng.integers(0, 90, 300)
    cols = rng.integers(0, 70, 300)
    rows[:4] = [0, 89, 0, 89]
    cols[:4] = [0, 69, 69, 0]
    for band_rows in (None, 8):
        at = features.features_at(gray, rows, cols, sem, band_rows=band_rows)
        assert at.shape == (300, 85) and at.dtype == np.float32
        assert np.array_equal(at, whole[rows, cols])
    assert features.features_at(gray, [], [], sem).shape == (0, 85)


# ----------------------------------------------------------------------------- checks
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 4, 3), np.uint8), "2-D"),
        (np.zeros(5, np.uint8), "2-D"),
        (np.zeros((0, 4), np.uint8), "empty"),
        (np.zeros((4, 4), np.int16), "uint8 or float"),
        (np.zeros((4, 4), bool), "uint8 or float"),
        (np.zeros((4, 4), np.complex64), "uint8 or float"),
        (np.array([[1.0, np.nan]]), "NaN or inf"),
        (np.array([[1.0, np.inf]]), "NaN or inf"),
    ],
)
@pytest.mark.parametrize("fn", ["extract_patches", "extract_daisy", "pixel_features", "gist", "iter_feature_bands"])
def test_bad_gray_raises(bad, match, fn):
    with pytest.raises(ValueError, match=match):
        getattr(features, fn)(bad)


def test_bad_semantic_and_coords_raise():
    gray = smooth_image(10, 12)
    with pytest.raises(ValueError, match="spatial shape"):
        features.pixel_features(gray, np.zeros((10, 11, 3)))
    with pytest.raises(ValueError, match=r"\(H, W, N\)"):
        features.pixel_features(gray, np.zeros((10, 12)))
    with pytest.raises(ValueError, match="float"):
        features.pixel_features(gray, np.zeros((10, 12, 2), np.int32))
    with pytest.raises(ValueError, match="NaN"):
        features.pixel_features(gray, np.full((10, 12, 2), np.nan))
    with pytest.raises(ValueError, match="rows must lie"):
        features.features_at(gray, [10], [0])
    with pytest.raises(ValueError, match="cols must lie"):
        features.features_at(gray, [0], [-1])
    with pytest.raises(ValueError, match="same length"):
        features.features_at(gray, [0, 1], [0])
    with pytest.raises(ValueError, match="integers"):
        features.features_at(gray, [0.5], [0])
    with pytest.raises(ValueError, match="band_rows"):
        features.pixel_features(gray, band_rows=0)
    with pytest.raises(ValueError, match="band_rows"):
        features.extract_daisy(gray, band_rows=0)
    with pytest.raises(ValueError, match="normalization"):
        features.extract_daisy(gray, normalization="l1")


def test_import_does_not_import_torch_and_semantic_is_lazy():
    code = (
        "import sys, features; assert 'torch' not in sys.modules; "
        "assert 'deepcolor.features.semantic' not in sys.modules; "
        "assert 'semantic_probabilities' in dir(features); print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with pytest.raises(AttributeError):
        features.no_such_thing  # noqa: B018


def test_omp_wait_policy_is_set_by_the_cli_not_by_importing_the_library():
    code = (
        "import os, features, deepcolor.cli; assert 'OMP_WAIT_POLICY' not in os.environ; "
        "deepcolor.cli.main([]); print(os.environ['OMP_WAIT_POLICY'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "PASSIVE"


def test_non_contiguous_and_float_inputs_match_uint8():
    gray = smooth_image(40, 64, seed=11)
    view = gray[:, ::2]  # non-contiguous
    expected = features.pixel_features(np.ascontiguousarray(view))
    assert np.array_equal(features.pixel_features(view), expected)
    assert np.array_equal(features.pixel_features(view.astype(np.float32)), expected)
    assert np.array_equal(features.pixel_features(view.astype(np.float64)), expected)


@pytest.mark.parametrize("stride, band_rows", [(2, 37), (3, 64), (2, None)])
def test_feature_bands_on_a_grid_equal_the_full_features(stride, band_rows):
    rng = np.random.default_rng(7)
    gray = rng.integers(0, 256, (150, 97)).astype(np.uint8)
    probs = rng.random((150, 97, 4)).astype(np.float32)
    full = features.pixel_features(gray, probs)
    rows = 0
    for r0, r1, feats in features.iter_feature_bands(gray, probs, band_rows=band_rows, stride=stride):
        first = -(-r0 // stride) * stride - r0
        np.testing.assert_array_equal(feats, full[r0:r1][first::stride, ::stride])
        rows += feats.shape[0]
    assert rows == len(range(0, 150, stride))
    with pytest.raises(ValueError, match="stride"):
        features.iter_feature_bands(gray, stride=0)


def test_context_features_are_the_position_and_the_blurred_surroundings():
    import cv2

    from deepcolor.features import CONTEXT_DIMS, context_features, context_grid, context_maps

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (60, 80), dtype=np.uint8)
    rows, cols = np.array([0, 30, 59]), np.array([0, 40, 79])
    ctx = context_features(gray, rows, cols)
    assert ctx.shape == (3, CONTEXT_DIMS) == (3, 20) and ctx.dtype == np.float32
    np.testing.assert_allclose(ctx[:, 0], rows / 60)
    np.testing.assert_allclose(ctx[:, 1], cols / 80)
    fine = cv2.GaussianBlur(gray.astype(np.float32) / 255, (0, 0), 4)
    # the 3x3 grid 8 px apart, row-major from the top left, clamped at the borders
    assert ctx[1, 2] == fine[22, 32] and ctx[1, 6] == fine[30, 40] and ctx[1, 10] == fine[38, 48]
    assert ctx[0, 2] == fine[0, 0] and ctx[2, 10] == fine[59, 79]
    coarse = cv2.GaussianBlur(gray.astype(np.float32) / 255, (0, 0), 12)
    assert ctx[1, 11] == coarse[6, 16] and ctx[1, 19] == coarse[54, 64]
    # the grid layout the colorizer uses gives the same numbers as the sampled pixels
    maps = context_maps(gray)
    for stride in (1, 2, 3):
        band = context_grid(maps, 10, 25, stride)
        first = -(-10 // stride) * stride
        r, c = first + stride * 2, stride * 5
        assert band.shape == (len(range(first, 25, stride)), len(range(0, 80, stride)), 20)
        np.testing.assert_array_equal(band[2, 5], context_features(gray, [r], [c])[0])
    with pytest.raises(ValueError):
        context_features(gray, [60], [0])


def _alexnet_trunk():
    from deepcolor.features import alexnet

    try:
        return alexnet.AlexNetTrunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")


def test_alexnet_features_are_conv5_of_the_gray_image_read_at_each_pixel():
    import torch

    from deepcolor.evaluation.lpips import LPIPS
    from deepcolor.features.alexnet import DEEP_DIMS, MIN_SIDE, deep_at, deep_features, deep_grid, deep_maps

    trunk = _alexnet_trunk()
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (120, 150), dtype=np.uint8)
    maps = deep_maps(gray, trunk)
    # the trunk is LPIPS's AlexNet on the gray image repeated into three channels
    rgb = torch.from_numpy(np.repeat(gray[None, None].astype(np.float32), 3, axis=1)) / 127.5 - 1
    with torch.no_grad():
        conv5 = LPIPS(device="cpu")._features(rgb)[4][0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(maps.maps[0], conv5, rtol=1e-5, atol=1e-5)
    assert maps.maps[0].shape == (6, 8, DEEP_DIMS) and maps.factor == 1
    # map position m is read at pixel 16 m + 15; between grid points bilinearly; clamped at the border
    rows, cols = np.array([15 + 16 * 2, 15 + 16 * 2 + 8, 0, 119]), np.array([15 + 16 * 3, 15 + 16 * 3, 0, 149])
    deep = deep_features(gray, rows, cols, trunk)
    assert deep.shape == (4, DEEP_DIMS) and deep.dtype == np.float32 and deep.min() >= 0
    np.testing.assert_allclose(deep[0], conv5[2, 3], rtol=1e-6)
    np.testing.assert_allclose(deep[1], (conv5[2, 3] + conv5[3, 3]) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(deep[2], conv5[0, 0], rtol=1e-6)
    np.testing.assert_allclose(deep[3], conv5[5, 7], rtol=1e-6)
    # the colorizer's grid layout gives the same vectors as the sampled pixels
    for stride in (1, 2):
        band = deep_grid(maps, 10, 30, stride)
        first = -(-10 // stride) * stride
        r, c = first + stride * 2, stride * 5
        np.testing.assert_array_equal(band[2, 5], deep_at(maps, np.array([r]), np.array([c]))[0])
    # an image too small for conv5 is enlarged for the trunk
    small = deep_maps(gray[:40, :60], trunk)
    assert small.factor == MIN_SIDE / 40 and deep_features(gray[:40, :60], [39], [59], trunk).shape == (1, DEEP_DIMS)
    with pytest.raises(ValueError):
        deep_features(gray, [120], [0], trunk)


def test_alexnet_projection_is_the_pca_and_commutes_with_reading_the_maps():
    from deepcolor.features.alexnet import deep_at, deep_maps, fit_projection, project

    rng = np.random.default_rng(1)
    # vectors with a known leading axis: large variance along e0 + e1, small elsewhere
    axis = np.zeros(6)
    axis[:2] = np.sqrt(0.5)
    vectors = rng.normal(size=(500, 1)) * 10 * axis + rng.normal(size=(500, 6)) * 0.1 + 3
    mean, components = fit_projection(vectors, 2)
    assert mean.shape == (6,) and components.shape == (2, 6) and components.dtype == np.float32
    np.testing.assert_allclose(components[0], axis, atol=0.01)  # signed so that the largest entry is positive
    np.testing.assert_allclose(components @ components.T, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(project(vectors, (mean, components))[:, 0], (vectors - mean) @ axis, rtol=0.01, atol=0.05)
    for dims in (0, 7):
        with pytest.raises(ValueError, match="dims"):
            fit_projection(vectors, dims)
    # projecting the maps before reading them gives the projected vectors
    trunk = _alexnet_trunk()
    gray = rng.integers(0, 256, (100, 130), dtype=np.uint8)
    rows, cols = rng.integers(0, 100, 50), rng.integers(0, 130, 50)
    raw = deep_at(deep_maps(gray, trunk), rows, cols)
    projection = fit_projection(raw, 8)
    np.testing.assert_allclose(deep_at(deep_maps(gray, trunk, projection), rows, cols), project(raw, projection),
                               atol=1e-4)


def test_alexnet_hypercolumn_reads_each_layer_on_its_grid_and_projects_on_the_shared_one():
    from deepcolor.features.alexnet import ALEXNET, deep_at, deep_grid, deep_maps, fit_projection, project

    trunk = _alexnet_trunk()
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 256, (110, 140), dtype=np.uint8)
    rows, cols = rng.integers(0, 110, 40), rng.integers(0, 140, 40)
    column = deep_maps(gray, trunk, layers=(3, 4, 5))
    assert column.layers == (3, 4, 5) and [m.shape[-1] for m in column.maps] == [ALEXNET[i][0] for i in (2, 3, 4)]
    hyper = deep_at(column, rows, cols)
    # the hypercolumn is each layer read alone, side by side; conv5 alone is the default
    alone = [deep_at(deep_maps(gray, trunk, layers=(i,)), rows, cols) for i in (3, 4, 5)]
    np.testing.assert_array_equal(hyper, np.concatenate(alone, axis=1))
    np.testing.assert_array_equal(alone[2], deep_at(deep_maps(gray, trunk), rows, cols))
    # conv3-5 share one grid, so their projection is taken before reading; conv1 and conv5 are
    # on two grids, so each is projected by its block of the projection and the parts summed
    projection = fit_projection(hyper, 6)
    projected = deep_maps(gray, trunk, projection, layers=(3, 4, 5))
    assert projected.layers == (5,) and projected.dims == 6 and not projected.summed
    np.testing.assert_allclose(deep_at(projected, rows, cols), project(hyper, projection), atol=1e-4)
    apart = deep_at(deep_maps(gray, trunk, layers=(1, 5)), rows, cols)
    projection = fit_projection(apart, 2)
    late = deep_maps(gray, trunk, projection, layers=(1, 5))
    assert late.summed and late.dims == 2 and [m.shape[-1] for m in late.maps] == [2, 2]
    np.testing.assert_allclose(deep_at(late, rows, cols), project(apart, projection), atol=1e-5)
    # on a grid, deep_grid reads what deep_at reads at each of its points
    band = deep_grid(late, 4, 20, 3)
    grid_rows, grid_cols = np.arange(6, 20, 3), np.arange(0, gray.shape[1], 3)
    np.testing.assert_array_equal(band, deep_at(late, np.repeat(grid_rows, grid_cols.size),
                                                np.tile(grid_cols, grid_rows.size)).reshape(band.shape))


def test_vgg16_block_outputs_are_read_on_their_grids():
    import torch

    from deepcolor.features import alexnet, vgg
    from deepcolor.features.deep import net_dims, net_features, net_maps

    try:
        trunk = vgg.VGG16Trunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (112, 144), dtype=np.uint8)
    maps = net_maps("vgg16", gray, trunk, layers=(1, 4, 5))
    # each 2x2 pooling halves the map: block b's map is (H, W) / 2**(b-1)
    assert [m.shape for m in maps.maps] == [(112, 144, 64), (14, 18, 512), (7, 9, 512)]
    assert maps.grids == [(1, 0.0), (8, 3.5), (16, 7.5)] and net_dims("vgg16", (1, 4, 5)) == 64 + 512 + 512
    # block 1 (relu1_2: two 3x3 convolutions on the LPIPS-scaled gray image) is read at the pixel itself
    rows, cols = rng.integers(1, 111, 30), rng.integers(1, 143, 30)
    deep = net_features("vgg16", gray, rows, cols, trunk, (1, 4, 5))
    np.testing.assert_allclose(deep[:, :64], maps.maps[0][rows, cols], rtol=1e-6)
    x = (torch.from_numpy(gray.astype(np.float32)) / 127.5 - 1).expand(1, 3, *gray.shape)
    conv = torch.nn.functional.conv2d
    with torch.no_grad():
        relu1_2 = torch.relu(conv(torch.relu(conv((x - trunk.shift) / trunk.scale, *trunk.convs[0], padding=1)),
                                  *trunk.convs[1], padding=1))
    np.testing.assert_allclose(maps.maps[0], relu1_2[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-4)
    # relu5_3 at a pixel beside the border is its map's corner (clamped)
    np.testing.assert_allclose(net_features("vgg16", gray, [0], [0], trunk)[0], maps.maps[2][0, 0], rtol=1e-6)
    # projected before reading on one grid, after reading across grids: the same vectors either way
    projection = alexnet.fit_projection(deep, 5)
    late = net_maps("vgg16", gray, trunk, projection, (1, 4, 5))
    np.testing.assert_allclose(alexnet.deep_at(late, rows, cols), alexnet.project(deep, projection), atol=1e-4)
    with pytest.raises(ValueError, match="unknown deep network"):
        net_dims("resnet", (5,))
