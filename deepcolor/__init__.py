"""deepcolor: Deep Colorization (Cheng, Yang, Sheng, ICCV 2015) reimplemented.

One import name, in layers that import only downward (README, "Architecture"; the
contract is ``.importlinter``):

=====================  =====================================================
``deepcolor.cli``,     the ``deepcolor`` command line
``deepcolor.commands``
``deepcolor.evaluation``  method registry, benchmark harness, report, parser scores
``deepcolor.pipeline``    training a model directory, colorizing with it
``deepcolor.data``        datasets, pixel sampling, the feature cache
``deepcolor.clustering``, adaptive image clustering and lookup; the per-cluster
``deepcolor.networks``,   network; Levin / Welsh / Reinhard
``deepcolor.baselines``
``deepcolor.features``    patch, DAISY, gist, scene parser, semantic feature
``deepcolor.core``        color space, image I/O, metrics, refinement, settings
=====================  =====================================================

The public entry points are :class:`deepcolor.Colorizer` and :func:`deepcolor.train_model`
(loaded lazily, so that ``import deepcolor`` and ``deepcolor --help`` do not import torch).
"""

import os as _os

__version__ = "0.1.0"

__all__ = ["__version__", "Colorizer", "train_model"]

# In the repository the features/, clustering/ and data/ folders sit beside deepcolor/;
# setup.cfg's package_dir maps them into this package for an install (wheel or editable).
# A checkout that is only on sys.path (PYTHONPATH=checkout, no install) gets the same
# mapping here: the repository root is searched for this package's subpackages too.
_REPO = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "features")) and _os.path.isfile(
        _os.path.join(_REPO, "features", "__init__.py")):
    __path__.append(_REPO)

_LAZY = {"Colorizer": "deepcolor.pipeline.colorizer", "train_model": "deepcolor.pipeline.training"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deepcolor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
