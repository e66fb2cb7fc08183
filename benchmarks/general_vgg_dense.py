"""Whether ``general-vgg``'s relu5_3, read at twice its density, colours held-out photos of the
test's kind better (``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_dense.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg45dense.npy --whole 600 [--whole-sources caltech101] [--jobs 2] -o OUT.json

``general-vgg`` reads relu4_3 (a map every 8 pixels) and relu5_3 (every 16: a 224-pixel photo
gives it 14 x 14 positions), each bilinearly at a pixel. Where an object's edge falls between
two relu5_3 positions, the pixels on both sides read a blend of the two objects. This study
reads relu5_3 every 8 pixels instead, without changing what it means, by the "hole" (a trous)
evaluation of Long, Shelhamer and Darrell (CVPR 2015) and DeepLab (Chen et al., ICLR 2015):
the 2x2 max pooling before block 5 moves by one position instead of two, and the block's three
3x3 convolutions read every second position (dilation 2). At the even positions this is
VGG16's relu5_3 (up to float rounding; :func:`check_dense`, run on 20 photos first); the odd positions are
the same network evaluated half a stride over. Run as four ordinary convolution stacks, one
per phase (even / odd rows and columns) of the pooled map: block 5 costs four times as much,
VGG16 about 1.35 times (block 5 is a tenth of its work).

Both columns are read from one run of VGG16 per image (``--deep-file`` keeps relu4_3, relu5_3
and the dense relu5_3, float16), and the same networks as ``general_vgg_bins.py`` (the
regression and the 32-bin network, input dropout 0.4, 5 epochs, seed 0) are trained on each:
relu4_3 + relu5_3 through a PCA to 128 (``general-vgg``'s input; these rows repeat that
script's) and relu4_3 + dense relu5_3 through a PCA to 128. Whole photos are colorized as
``deepcolor colorize`` does and scored by the benchmark's RGB PSNR over gray and colourfulness.

Measured (``results/general_vgg_dense.txt``): the denser relu5_3 moves nothing. The whole-photo
differences are between -0.039 and +0.018 dB, with opposite signs on the two proxies, at the
same colour. So the package's ``--deep-net`` has no dense variant (README, "relu5_3 read every 8
pixels instead of 16").
"""

import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_study

#: relu4_3, relu5_3 and the dense relu5_3 in the trunk's vectors: 512 numbers each.
DIMS = (512, 512, 512)
#: (stride, offset) of each map in the trunk's input: relu4_3, relu5_3 (VGG_GRID), and the
#: dense relu5_3, whose even positions are relu5_3's (16 m + 7.5 = 8 (2 m) + 7.5).
GRIDS = ((8, 3.5), (16, 7.5), (8, 7.5))


def dense_top(relu4_3, convs):
    """relu5_3 at every position of relu4_3's grid: ``(1, 512, 2 (H4 // 2), 2 (W4 // 2))`` from
    ``relu4_3`` (1, 512, H4, W4).

    The pooling before block 5 moves by one (over relu4_3 cut to even sides, as VGG16's
    pooling cuts it, and a zero past the last row and column, which a ReLU's output never
    exceeds), and block 5 (``convs``: its three (weight, bias) pairs) runs on each phase of the
    pooled map alone: a 3x3 convolution with dilation 2 on the whole map is a 3x3 convolution
    on each phase, whose zero padding is the dilated one's. The even phase is VGG16's block 5
    on VGG16's pooled map, so it gives relu5_3 itself."""
    import torch
    import torch.nn.functional as F

    h, w = relu4_3.shape[2] // 2 * 2, relu4_3.shape[3] // 2 * 2  # VGG16's pooling drops an odd last row
    pooled = F.max_pool2d(F.pad(relu4_3[:, :, :h, :w], (0, 1, 0, 1)), 2, stride=1)
    out = torch.empty_like(pooled)
    for a in (0, 1):
        for b in (0, 1):
            x = pooled[:, :, a::2, b::2]
            for weight, bias in convs:
                x = F.relu(F.conv2d(x, weight, bias, padding=1))
            out[:, :, a::2, b::2] = x
    return out


class DenseColumn:
    """VGG16's relu4_3, relu5_3 and relu5_3 read every 8 pixels (the ``Trunk`` interface of
    ``general_deep_layers``): one run of the network per image."""

    def __init__(self):
        from deepcolor.features.vgg import VGG16Trunk

        self.net = VGG16Trunk(device="cpu")
        self.name, self.layers, self.top, self.column = "vgg16", (4, 5, 5), "relu5_3 dense", "relu4_3+5_3+5_3 dense"
        self.dims = list(DIMS)

    def maps(self, gray):
        """VGG16's relu4_3 and relu5_3 (:func:`~deepcolor.features.vgg.vgg_maps`, which also
        enlarges a small photo) and relu5_3 computed again every 8 pixels from that relu4_3."""
        import torch

        from deepcolor.features.alexnet import DeepMaps
        from deepcolor.features.vgg import vgg_maps

        plain = vgg_maps(gray, self.net, (4, 5))
        with torch.no_grad():
            relu4_3 = torch.from_numpy(plain.maps[0]).permute(2, 0, 1)[None]
            dense = dense_top(relu4_3, self.net.convs[10:13])[0].permute(1, 2, 0).contiguous().numpy()
        return DeepMaps(plain.shape, plain.factor, plain.maps + [dense], self.layers, list(GRIDS))


def check_dense(trunk, gray):
    """The largest difference between the dense relu5_3's even positions and VGG16's relu5_3,
    and relu5_3's largest value."""
    _, top, dense = trunk.maps(gray).maps
    return float(np.abs(dense[0::2, 0::2] - top).max()), float(np.abs(top).max())


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        from deepcolor.core.color import rgb2gray
        from deepcolor.core.io import load_rgb

        trunk = DenseColumn()
        diffs = [check_dense(trunk, rgb2gray(load_rgb(ho.tset.paths[i]))) for i in ho.held[:20]]
        result["dense_check"] = {"max_abs_difference": max(d for d, _ in diffs), "max_relu5_3": max(m for _, m in diffs)}
        log(f"dense relu5_3 at its even positions against relu5_3, 20 photos: largest difference "
            f"{result['dense_check']['max_abs_difference']:.2e} (values up to {result['dense_check']['max_relu5_3']:.0f})")
        result.update(bins=32, columns=["relu4_3 + relu5_3, PCA 128", "relu4_3 + dense relu5_3, PCA 128"])
        rows, networks = [], {}
        for label, columns in (("", np.r_[0:1024]), ("dense relu5_3: ", np.r_[0:512, 1024:1536])):
            r, n = bins_study(ho, deep, dims, 32, 0.0, log, columns=columns, label=label)
            rows += r
            networks.update(n)
        return rows, networks

    return held_out_study(__doc__, argv, lambda p: None, run, trunk=DenseColumn)


if __name__ == "__main__":
    sys.exit(main())
