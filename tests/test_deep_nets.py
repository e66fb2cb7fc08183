"""The networks a model reads by name (deepcolor.features.deep), VGG16 + Inception v3 joined."""

import numpy as np
import pytest

from deepcolor.features import alexnet, deep, inception, vgg


@pytest.fixture(scope="module")
def joined():
    try:
        return deep.load_net("vgg16+inception", "this test", device="cpu")
    except ValueError as exc:
        pytest.skip(f"{exc} (README's install line; CI installs both)")


def test_each_network_names_its_own_layers():
    assert deep.net_layers("alexnet", "3,4,5") == (3, 4, 5)
    assert deep.net_layers("vgg16+inception", "4,5,6,7") == (4, 5, 6, 7)
    assert deep.net_layers("vgg16+inception", [5, 7]) == (5, 7)
    for net, text in (("alexnet", "5,6"), ("vgg16", "4,5,6"), ("vgg16", "5,4"), ("alexnet", "x"),
                      ("vgg16+inception", "4,5"), ("vgg16+inception", "6,7"), ("vgg16+inception", "4,8")):
        with pytest.raises(ValueError, match="layers of"):
            deep.net_layers(net, text)
    with pytest.raises(ValueError, match="unknown deep network 'resnet'"):
        deep.net_layers("resnet", "5")
    assert deep.net_part_dims("vgg16+inception", (4, 5, 6, 7)) == (1024, 768 + 2048)
    assert deep.net_dims("vgg16+inception", (4, 5, 6, 7)) == 3840 and deep.net_dims("alexnet", (5,)) == 256
    deep.check_projection_dims("vgg16+inception", (4, 5, 6, 7), 256)
    for dims in (255, 2 * 1025):
        with pytest.raises(ValueError, match="split evenly over its 2 networks"):
            deep.check_projection_dims("vgg16+inception", (4, 5, 6, 7), dims)


@pytest.mark.parametrize("shape", [(80, 130), (150, 220), (320, 300)])
def test_the_joined_maps_read_each_network_where_it_reads_alone(joined, shape):
    # 80 px: both networks enlarge the photo, each by its own factor; 150: Inception only; 320: neither
    rng = np.random.default_rng(shape[0])
    gray = rng.integers(0, 256, shape).astype(np.uint8)
    rows, cols = rng.integers(0, shape[0], 300), rng.integers(0, shape[1], 300)
    rows[:2], cols[:2] = (0, shape[0] - 1), (0, shape[1] - 1)  # the corners: clamped alike
    maps = deep.net_maps("vgg16+inception", gray, joined, layers=(4, 5, 6, 7))
    assert maps.factor == 1.0 and maps.dims == 3840 and not maps.summed
    apart = np.concatenate([alexnet.deep_at(vgg.vgg_maps(gray, joined.vgg, (4, 5)), rows, cols),
                            alexnet.deep_at(inception.inception_maps(gray, joined.inception), rows, cols)], axis=1)
    np.testing.assert_allclose(alexnet.deep_at(maps, rows, cols), apart, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(deep.net_features("vgg16+inception", gray, rows, cols, joined, (4, 5, 6, 7)),
                                  alexnet.deep_at(maps, rows, cols))


def test_the_joined_pca_gives_each_network_its_own_share(joined):
    rng = np.random.default_rng(0)
    grays = [rng.integers(0, 256, (120, 160)).astype(np.uint8) for _ in range(3)]
    pixels = [(rng.integers(0, 120, 200), rng.integers(0, 160, 200)) for _ in grays]
    vectors = np.concatenate([deep.net_features("vgg16+inception", g, r, c, joined, (5, 7))
                              for g, (r, c) in zip(grays, pixels)])
    mean, components = deep.fit_net_projection("vgg16+inception", (5, 7), vectors, 16)
    assert components.shape == (16, 512 + 2048) and mean.shape == (512 + 2048,)
    # block-diagonal: VGG16's 512 columns give the first 8 numbers, Inception's 2048 the last 8,
    # each the PCA of that network's columns alone
    assert not components[:8, 512:].any() and not components[8:, :512].any()
    for rows, cols in ((slice(0, 8), slice(0, 512)), (slice(8, 16), slice(512, None))):
        m, c = alexnet.fit_projection(vectors[:, cols], 8)
        np.testing.assert_array_equal(components[rows, cols], c)
        np.testing.assert_array_equal(mean[cols], m)
    # read through the projection (each map projected by its block, the parts summed) as projected after reading
    g, (r, c) = grays[0], pixels[0]
    maps = deep.net_maps("vgg16+inception", g, joined, (mean, components), (5, 7))
    assert maps.summed and maps.dims == 16
    expected = alexnet.project(vectors[:200], (mean, components))
    np.testing.assert_allclose(alexnet.deep_at(maps, r, c), expected, atol=1e-3 * np.abs(expected).max())
