"""Features of Deep Colorization (Cheng, Yang, Sheng, ICCV 2015, Sec. 3.2 and 4).

Per pixel (81 + N dims, :func:`pixel_features`):

* low level: the 7x7 gray patch / 255 (:func:`extract_patches`, 49 dims);
* mid level: DAISY, radius 7, 1 ring, 3 + 1 histograms, 8 orientations
  (:func:`extract_daisy`, 32 dims);
* high level: N semantic class probabilities (:func:`semantic_probabilities`, from
  :mod:`deepcolor.features.semantic`).

Ours, optional: the local context (:mod:`deepcolor.features.context`, ``--context``) and
AlexNet's conv5 read at each pixel (:mod:`deepcolor.features.alexnet`, ``--alexnet K``; it
runs torch, so it is imported from its module, not from here).

Per image: the 512-dim gist of LMgist (:func:`gist`) and the semantic histogram
(:func:`semantic_histogram`), used to pick a cluster.

``semantic_probabilities`` and ``semantic_histogram`` are loaded lazily, so importing
:mod:`features` never imports torch.

Threads: the Numba kernels are parallel over rows (``prange``). With OpenMP's default
spin-waiting, each parallel region can lose a whole scheduler time slice when the cores
are shared with other processes (measured here: ~12 ms per region on a loaded 2-core
machine, against ~1-2 ms of work at 256 x 256). Importing this package changes no
environment variable: the ``deepcolor`` command and the benchmark scripts set
``OMP_WAIT_POLICY=PASSIVE`` (unless it is set already) before any OpenMP runtime starts;
a program using the library on shared cores can export it likewise.

Numba picks its OpenMP threading layer here (no TBB): GNU OpenMP is not fork-safe, so a
process that has computed features must not ``fork()`` children that compute features
again (they abort with "fork() called from a process already using GNU OpenMP"). Use the
``spawn`` / ``forkserver`` start methods, or ``NUMBA_THREADING_LAYER=workqueue``. The gist
thread pool is recreated after a fork.
"""

from .context import CONTEXT_DIMS, CONTEXT_VERSION, context_at, context_features, context_grid, context_maps
from .daisy import DAISY_DIMS, daisy_at, extract_daisy
from .lmgist import GIST_DIMS, GIST_VERSION, gist
from .patch import PATCH_DIMS, extract_patches, patches_at
from .pixel import LOW_MID_DIMS, feature_dims, features_at, iter_feature_bands, pixel_features

#: Version of the per-pixel features (patch, DAISY, layout); bump when their values change
#: so that cached training features are recomputed.
FEATURE_VERSION = "1"

_LAZY = {
    "semantic_probabilities": "deepcolor.features.semantic",
    "semantic_histogram": "deepcolor.features.semantic",
}

__all__ = [
    "CONTEXT_DIMS",
    "CONTEXT_VERSION",
    "DAISY_DIMS",
    "FEATURE_VERSION",
    "GIST_DIMS",
    "GIST_VERSION",
    "LOW_MID_DIMS",
    "PATCH_DIMS",
    "context_at",
    "context_features",
    "context_grid",
    "context_maps",
    "daisy_at",
    "extract_daisy",
    "extract_patches",
    "feature_dims",
    "features_at",
    "gist",
    "iter_feature_bands",
    "patches_at",
    "pixel_features",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'features' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
