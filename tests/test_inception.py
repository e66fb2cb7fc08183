"""Inception v3's maps read at pixels (deepcolor.features.inception)."""

import numpy as np
import pytest

from deepcolor.features import inception
from deepcolor.features.alexnet import deep_at


@pytest.fixture(scope="module")
def trunk():
    try:
        return inception.InceptionTrunk(device="cpu")
    except inception.NetworkMissing:
        pytest.skip(inception.INSTALL_HINT + " (README's install line; CI installs it)")


def test_each_position_lies_at_the_middle_of_its_receptive_field(trunk):
    import torch

    # tall enough that no field is clipped (Mixed_7c's spans 1,311 rows); rows and columns
    # go through the same layers, so the rows show the grid
    x = torch.rand(1, 3, 1600, 160, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for block, (name, _, channels, (stride, offset)) in inception.BLOCKS.items():
        out = trunk.block_outputs(x, (block,))[0]
        assert out.shape[1] == channels
        for m in (out.shape[2] // 2 - 1, out.shape[2] // 2):
            xi = x.clone().requires_grad_(True)
            trunk.block_outputs(xi, (block,))[0][0, :, m, 1].sum().backward()
            rows = np.flatnonzero(xi.grad[0].abs().sum(dim=(0, 2)).numpy())
            assert rows[0] > 0 and rows[-1] < x.shape[2] - 1, f"{name}'s field is clipped"
            assert (rows[0] + rows[-1]) / 2 == stride * m + offset, name


def test_a_pixel_on_a_grid_point_reads_the_map_there_and_small_photos_are_enlarged(trunk):
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (inception.SIDE, 340)).astype(np.uint8)
    maps = inception.inception_maps(gray, trunk)
    assert maps.factor == 1.0 and maps.dims == inception.block_dims((6, 7)) == 768 + 2048
    for k, block in enumerate((6, 7)):
        stride, offset = inception.BLOCKS[block][3]
        rows, cols = np.array([offset, offset + 2 * stride]), np.array([offset + stride, offset])
        expected = maps.maps[k][(rows - offset) // stride, (cols - offset) // stride]
        start = sum(m.shape[-1] for m in maps.maps[:k])
        read = deep_at(maps, rows, cols)[:, start:start + maps.maps[k].shape[-1]]
        np.testing.assert_allclose(read, expected, rtol=1e-5, atol=1e-5)
    small = inception.inception_maps(gray[:150, :170], trunk, layers=(7,))
    assert small.factor == pytest.approx(inception.SIDE / 150)
    assert small.dims == 2048 and small.maps[0].shape[:2] == (8, 9)  # 299 x 339 through Mixed_7c
