"""The registry of colorization methods the benchmark harness can run.

A method is registered once, by name, with a factory. The harness calls
``factory(options)`` once per run and then the returned callable once per image::

    @register_method("gray", "luminance copied to R, G and B (U = V = 0)")
    def _gray(options):
        return lambda sample: gray_to_rgb(sample.gray)

The callable receives a :class:`Sample` and returns an (H, W, 3) uint8 RGB image of
the sample's size. ``sample.rgb`` (the ground truth) is ``None`` unless the method was
registered with ``uses_ground_truth=True`` (simulated user hints), so an automatic
method cannot peek at the answer by accident.

Method modules are the ``methods_*`` modules of this package; the harness
imports every module listed in :data:`METHOD_MODULES` before looking a name up.
"""

import dataclasses
import importlib
from typing import Callable, Optional

import numpy as np

#: Modules whose import registers methods. Add yours here.
METHOD_MODULES = [
    "deepcolor.evaluation.methods_basic",
    "deepcolor.evaluation.methods_deepcolor",
    "deepcolor.evaluation.methods_baselines",
]


@dataclasses.dataclass(frozen=True)
class Sample:
    """One benchmark image as a method sees it.

    Attributes
    ----------
    name : str
        File name relative to the dataset's image folder.
    gray : ndarray, shape (H, W), uint8
        The input (release luminance of the ground truth).
    rgb : ndarray, shape (H, W, 3), uint8 or None
        Ground truth; only for methods registered with ``uses_ground_truth``.
    category : str or None
    index : int
        Position in the benchmark list (seeds per-image randomness reproducibly).
    """

    name: str
    gray: np.ndarray
    rgb: Optional[np.ndarray] = None
    category: Optional[str] = None
    index: int = 0


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    name: str
    description: str
    factory: Callable
    uses_ground_truth: bool = False
    accepts_hints: bool = False
    prepare: Optional[Callable] = None


_REGISTRY: dict = {}


def register_method(name, description, *, uses_ground_truth=False, accepts_hints=False, prepare=None):
    """Decorator registering ``factory(options) -> callable(sample) -> rgb`` under ``name``.

    ``options`` is a dict of the benchmark's settings (``data_root``, ``model``,
    ``hints``, ``hint_size``, ``seed``, ``refine`` ...); a factory reads what it needs.
    ``prepare(options)``, if given, runs once in the main process before worker processes
    start (``--jobs`` > 1), to fill caches that every worker's factory would otherwise
    compute on its own.
    """

    def decorator(factory):
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"method {name!r} is registered twice")
        _REGISTRY[name] = MethodSpec(name, description, factory, uses_ground_truth, accepts_hints, prepare)
        return factory

    return decorator


def _load_modules():
    for module in METHOD_MODULES:
        importlib.import_module(module)


def available_methods():
    """Return ``{name: MethodSpec}`` of every registered method, sorted by name."""
    _load_modules()
    return dict(sorted(_REGISTRY.items()))


def get_method(name):
    """Return the :class:`MethodSpec` registered under ``name``; ``KeyError`` lists the known ones."""
    methods = available_methods()
    if name not in methods:
        raise KeyError(f"unknown method {name!r}; known methods: {', '.join(methods)}")
    return methods[name]


def hint_options(options):
    """``(hints, hint size, seed)`` of a hint method's options, with :class:`HintSettings`' defaults.

    Raises ``ValueError`` for a negative count or an even or non-positive patch size.
    """
    from deepcolor.core.settings import HintSettings

    n_hints = HintSettings.hints if options.get("hints") is None else int(options["hints"])
    patch = HintSettings.hint_size if options.get("hint_size") is None else int(options["hint_size"])
    if n_hints < 0:
        raise ValueError(f"hints must be >= 0, got {n_hints}")
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"hint size must be a positive odd number of pixels, got {patch}")
    return n_hints, patch, int(options.get("seed") or 0)
