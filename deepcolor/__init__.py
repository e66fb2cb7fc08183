"""deepcolor: Deep Colorization (Cheng, Yang, Sheng, ICCV 2015) reimplemented.

The public entry points are :class:`deepcolor.Colorizer` (the learned method),
:mod:`deepcolor.color` (the release's YUV color space), :mod:`deepcolor.metrics`
(PSNR and friends) and the ``deepcolor`` command line.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "Colorizer"]


def __getattr__(name):
    # Lazy so that ``import deepcolor`` (and ``deepcolor --help``) does not import torch.
    if name == "Colorizer":
        from deepcolor.pipeline import Colorizer

        return Colorizer
    raise AttributeError(f"module 'deepcolor' has no attribute {name!r}")
