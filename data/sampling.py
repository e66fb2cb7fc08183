"""Which pixels of a training image feed the networks.

The paper ties the number of reference images per cluster (mu) to the pixels sampled per
image (N_s) and the size of one network (N_w): mu = alpha * N_w / N_s, alpha being the
number of training samples per weight. Our numbers, for D = 81 + 8 = 89 inputs (8 scene
classes of the shipped parser), 3 hidden layers of 44 units and 2 outputs:

    N_w = 89*44+44 + 2*(44*44+44) + 44*2+2 = 8010 weights
    alpha = 10 samples per weight, mu = 80 images (the paper's)
    N_s = alpha * N_w / mu = 10 * 8010 / 80 ~ 1000 pixels per image

so a cluster of mu images gives ~80 000 samples for ~8 000 weights. N_s = 1000 of the
65 536 pixels of a 256x256 image (1.5 %). :func:`samples_for` computes it for other D.
"""

import zlib

import numpy as np

from deepcolor.core.settings import TrainSettings

ALPHA = 10


def samples_for(n_weights, mu=TrainSettings.mu, alpha=ALPHA):
    """N_s = alpha * N_w / mu, rounded to a multiple of 50 (at least 50)."""
    return int(max(50, round(alpha * n_weights / mu / 50.0) * 50))


def image_seed(name, seed=0):
    """A per-image seed from its name, so each image has its own reproducible sample."""
    return (zlib.crc32(str(name).encode("utf-8")) + 1000003 * int(seed)) % (2 ** 32)


def sample_pixels(shape, n, seed=0):
    """``n`` distinct pixels drawn uniformly from an image of ``shape`` (H, W).

    Returns
    -------
    rows, cols : ndarray (min(n, H*W),) int64, in raster order
    """
    h, w = int(shape[0]), int(shape[1])
    total = h * w
    n = int(min(max(0, n), total))
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(total, size=n, replace=False))
    return (flat // w).astype(np.int64), (flat % w).astype(np.int64)
