"""The ImageNet-trained networks a model can read at each pixel (``--alexnet K --deep-net NAME``), by name.

* ``alexnet`` (:mod:`deepcolor.features.alexnet`): layers are its convolutions 1-5;
* ``vgg16`` (:mod:`deepcolor.features.vgg`): layers are its five blocks' last ReLU outputs;
* ``vgg16+inception``: VGG16's blocks 1-5 and Inception v3's maps 6 (Mixed_6e) and 7 (Mixed_7c)
  (:mod:`deepcolor.features.inception`) read side by side, e.g. layers ``4,5,6,7``. Each network
  runs at its own scale; its grids are given in the gray image's pixels, so one
  :class:`~deepcolor.features.alexnet.DeepMaps` holds both. Its PCA is block-diagonal: each
  network's part is reduced to its own share of K (:func:`fit_net_projection`), as
  ``benchmarks/general_inception.py`` measured (ours, not the paper's). About 0.66 s an
  image of 224 x 298 on 2 cores, twice VGG16's (``benchmarks/bench_features.py --deep-nets``).

Training, the cache and the colorizer reach every network through these functions, so a
model names its network once (``model.json``: ``features.alexnet_net``).
"""

import functools

import numpy as np

from .alexnet import ALEXNET, DeepMaps, deep_at, fit_projection, layer_dims, with_projection
from .inception import BLOCKS
from .inception import block_dims as inception_dims
from .vgg import VGG16, block_dims

#: The networks, by name; AlexNet's is what models made before the choice read.
DEEP_NETS = ("alexnet", "vgg16", "vgg16+inception")
#: The layer ids of each network (1-based); the joined one's Inception maps continue VGG16's blocks.
NET_LAYERS = {"alexnet": tuple(range(1, len(ALEXNET) + 1)), "vgg16": tuple(range(1, len(VGG16) + 1)),
              "vgg16+inception": tuple(range(1, len(VGG16) + 1)) + tuple(BLOCKS)}


def _check(net):
    if net not in DEEP_NETS:
        raise ValueError(f"unknown deep network {net!r}; one of {', '.join(DEEP_NETS)}")


def net_layers(net, text):
    """``"4,5,6,7"`` (the ``--alexnet-layers`` setting, or model.json's list) -> ``(4, 5, 6, 7)``:
    increasing layer ids of ``net`` (:data:`NET_LAYERS`); ``vgg16+inception`` needs at least
    one of each network's. ValueError otherwise."""
    _check(net)
    try:
        layers = tuple(int(x) for x in (text.split(",") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        layers = ()
    allowed = NET_LAYERS[net]
    if not layers or any(i not in allowed for i in layers) or list(layers) != sorted(set(layers)):
        raise ValueError(f"layers of {net} must be increasing numbers {allowed[0]}..{allowed[-1]}, got {text!r}")
    if net == "vgg16+inception" and not all(_parts(layers)):
        raise ValueError(f"layers of {net} must name VGG16 blocks (1..5) and Inception maps (6, 7), got {text!r}")
    return layers


def _parts(layers):
    """The joined network's layers split into VGG16's blocks and Inception's maps."""
    return tuple(b for b in layers if b not in BLOCKS), tuple(b for b in layers if b in BLOCKS)


def net_part_dims(net, layers):
    """The lengths of the parts of ``net``'s vector of ``layers``, one per network, in order:
    each part gets its own block of the PCA (:func:`fit_net_projection`)."""
    layers = net_layers(net, layers)
    if net == "alexnet":
        return (layer_dims(layers),)
    if net == "vgg16":
        return (block_dims(layers),)
    vgg, inception = _parts(layers)
    return block_dims(vgg), inception_dims(inception)


def net_dims(net, layers):
    """Length of ``net``'s vector of ``layers`` before any projection."""
    return sum(net_part_dims(net, layers))


class JoinedTrunk:
    """VGG16's and Inception v3's trunks, run one after the other on the same gray image."""

    def __init__(self, device=None):
        from .inception import InceptionTrunk
        from .vgg import VGG16Trunk

        self.vgg = VGG16Trunk(device=device)
        self.inception = InceptionTrunk(device=self.vgg.device)
        self.device = self.vgg.device


def load_net(net, purpose, device=None):
    """``net``'s trunk, or a ValueError saying what needs it (``purpose``) and what to install."""
    from .alexnet import AlexNetTrunk, WeightsMissing
    from .inception import NetworkMissing
    from .vgg import VGG16Trunk

    _check(net)
    trunks = {"alexnet": AlexNetTrunk, "vgg16": VGG16Trunk, "vgg16+inception": JoinedTrunk}
    try:
        return trunks[net](device=device)
    except (WeightsMissing, NetworkMissing) as exc:
        raise ValueError(f"{purpose} reads {net}: {exc}") from None


@functools.lru_cache(maxsize=1)
def process_net(net):
    """``net``'s trunk loaded once per process (the workers of training's parallel stages run
    many images each), else :func:`load_net`'s ValueError naming ``--alexnet``."""
    return load_net(net, "--alexnet")


def in_image_pixels(maps):
    """``maps`` with each grid given in the gray image's pixels (factor 1): a trunk's position
    m lies at its input's pixel ``s m + o``, i.e. at image pixel ``(s m + o + 0.5) / f - 0.5``
    for an input enlarged by f, so maps of trunks run at different scales can be joined."""
    f = maps.factor
    grids = [(stride / f, (offset + 0.5) / f - 0.5) for stride, offset in maps.grids]
    return DeepMaps(maps.shape, 1.0, maps.maps, maps.layers, grids)


def net_maps(net, gray, trunk, projection=None, layers=(5,)):
    """:class:`~deepcolor.features.alexnet.DeepMaps` of ``gray`` for ``net``'s ``layers``,
    through ``projection`` when given (:func:`~deepcolor.features.alexnet.with_projection`)."""
    from .alexnet import deep_maps
    from .inception import inception_maps
    from .vgg import vgg_maps

    _check(net)
    if net == "alexnet":
        return deep_maps(gray, trunk, projection, layers)
    if net == "vgg16":
        return vgg_maps(gray, trunk, layers, projection)
    vgg, inception = _parts(layers)
    first = in_image_pixels(vgg_maps(gray, trunk.vgg, vgg))
    second = in_image_pixels(inception_maps(gray, trunk.inception, inception))
    joined = DeepMaps(first.shape, 1.0, first.maps + second.maps, tuple(layers), first.grids + second.grids)
    return with_projection(joined, projection)


def net_features(net, gray, rows, cols, trunk, layers=(5,)):
    """``net``'s vectors of ``layers`` at pixels ``(rows, cols)`` of ``gray``: (n, net_dims) float32."""
    from ._validate import check_points

    img, rows, cols = check_points(gray, rows, cols)
    return deep_at(net_maps(net, img, trunk, None, layers), rows, cols)


def check_projection_dims(net, layers, dims):
    """ValueError unless ``dims`` (K of ``--alexnet``) splits evenly over ``net``'s parts and each
    share is at most its part's length."""
    parts = net_part_dims(net, layers)
    if dims % len(parts) or not all(1 <= dims // len(parts) <= n for n in parts):
        raise ValueError(f"--alexnet {dims} with --deep-net {net}: K must be split evenly over its {len(parts)} "
                         f"networks, each share at most its length ({', '.join(map(str, parts))})")


def fit_net_projection(net, layers, vectors, dims):
    """The PCA of ``net``'s vectors to ``dims`` numbers: one PCA for one network
    (:func:`~deepcolor.features.alexnet.fit_projection`); for ``vgg16+inception`` each network's
    columns through its own PCA to ``dims / 2``, joined block-diagonally, so that neither
    network's larger variance takes the other's share.

    Parameters
    ----------
    vectors : ndarray, shape (n, net_dims(net, layers)), float
    dims : int, validated by :func:`check_projection_dims`

    Returns
    -------
    mean : ndarray, shape (D,), float32
    components : ndarray, shape (dims, D), float32 (zero outside each part's block)
    """
    check_projection_dims(net, layers, dims)
    parts = net_part_dims(net, layers)
    share = dims // len(parts)
    mean = np.zeros(sum(parts), np.float32)
    components = np.zeros((dims, sum(parts)), np.float32)
    start = 0
    for k, n in enumerate(parts):
        m, c = fit_projection(vectors[:, start:start + n], share)
        mean[start:start + n] = m
        components[k * share:(k + 1) * share, start:start + n] = c
        start += n
    return mean, components
