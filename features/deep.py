"""The ImageNet-trained networks a model can read at each pixel (``--alexnet K --deep-net NAME``), by name.

``alexnet`` (:mod:`deepcolor.features.alexnet`: conv1-5, layers are its convolutions) and
``vgg16`` (:mod:`deepcolor.features.vgg`: layers are its five blocks' last ReLU outputs).
Training, the cache and the colorizer reach either through these four functions, so a
model names its network once (``model.json``: ``features.alexnet_net``).
"""

from .alexnet import layer_dims
from .vgg import block_dims

#: The networks, by name; AlexNet's is what models made before the choice read.
DEEP_NETS = ("alexnet", "vgg16")


def _check(net):
    if net not in DEEP_NETS:
        raise ValueError(f"unknown deep network {net!r}; one of {', '.join(DEEP_NETS)}")


def net_dims(net, layers):
    """Length of ``net``'s vector of ``layers`` before any projection."""
    _check(net)
    return layer_dims(layers) if net == "alexnet" else block_dims(layers)


def load_net(net, purpose, device=None):
    """``net``'s trunk, or a ValueError saying what needs it (``purpose``) and what to install."""
    from .alexnet import AlexNetTrunk, WeightsMissing
    from .vgg import VGG16Trunk

    _check(net)
    try:
        return AlexNetTrunk(device=device) if net == "alexnet" else VGG16Trunk(device=device)
    except WeightsMissing as exc:
        raise ValueError(f"{purpose} reads {net}: {exc}") from None


def net_maps(net, gray, trunk, projection=None, layers=(5,)):
    """:class:`~deepcolor.features.alexnet.DeepMaps` of ``gray`` for ``net``'s ``layers``."""
    from .alexnet import deep_maps
    from .vgg import vgg_maps

    _check(net)
    return deep_maps(gray, trunk, projection, layers) if net == "alexnet" else vgg_maps(gray, trunk, layers, projection)


def net_features(net, gray, rows, cols, trunk, layers=(5,)):
    """``net``'s vectors of ``layers`` at pixels ``(rows, cols)`` of ``gray``: (n, net_dims) float32."""
    from ._validate import check_points
    from .alexnet import deep_at

    img, rows, cols = check_points(gray, rows, cols)
    return deep_at(net_maps(net, img, trunk, None, layers), rows, cols)

