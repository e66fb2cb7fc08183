"""Run time of :meth:`deepcolor.pipeline.Colorizer.colorize` by image size (the paper's Table II).

Each size is a square gray image (a real image resized, or a synthetic one); one untimed
warm-up call first (lazy network loading, numba compilation), then the median of
``repeats`` timed calls. Sizes above 1024 px get fewer runs when ``repeats`` runs would
exceed ``budget_s`` (estimated from the previous size, linear in pixels). The scaling
exponent is the least-squares slope of log seconds against log pixel count (1 = linear).
"""

import math
import os
import platform
import time

import numpy as np

from deepcolor.evaluation.report.specs import RUNTIME_SIZES as SIZES  # the setting's one home

#: The paper's Table II (MATLAB, Intel Xeon 2.30 GHz), seconds per image.
PAPER = {256: 6.780, 512: 17.413, 1024: 63.142}
#: Deshpande et al. 2015, from the same table.
DESHPANDE = {256: 251.709, 512: 712.149, 1024: 5789.075}


def fit_exponent(sizes, seconds):
    """``{"slope", "intercept"}`` of log(seconds) = intercept + slope * log(pixels), or None (< 2 points)."""
    sizes = np.asarray(sizes, dtype=float)
    seconds = np.asarray(seconds, dtype=float)
    keep = np.isfinite(seconds) & (seconds > 0)
    if np.count_nonzero(keep) < 2:
        return None
    slope, intercept = np.polyfit(np.log(sizes[keep] ** 2), np.log(seconds[keep]), 1)
    return {"slope": float(slope), "intercept": float(intercept)}


def test_image(size, source=None, seed=0):
    """A ``size`` x ``size`` uint8 gray image: ``source`` (a file) resized, else synthetic
    (smooth gradients, blobs and texture, seeded)."""
    from PIL import Image

    if source is not None:
        from deepcolor.core.color import rgb2gray
        from deepcolor.core.io import load_rgb

        gray = rgb2gray(load_rgb(source))
        return np.asarray(Image.fromarray(gray).resize((size, size), Image.BICUBIC), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / float(size)
    img = 90 + 80 * y + 30 * np.sin(6 * np.pi * x) * np.cos(4 * np.pi * y)
    for _ in range(6):
        cy, cx, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.2)
        img += 50 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r)) * rng.choice([-1, 1])
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def measure(colorize, sizes=SIZES, repeats=3, source=None, budget_s=300.0, clock=time.perf_counter, progress=None):
    """Time ``colorize(gray)`` at each size.

    Returns
    -------
    dict
        ``measurements`` (``size``, ``runs``, ``times``, ``median``, ascending sizes), ``fit``
        (:func:`fit_exponent` of the medians) and the settings.
    """
    sizes = sorted(int(s) for s in sizes)
    if not sizes or sizes[0] < 8:
        raise ValueError(f"runtime sizes must be >= 8 px, got {sizes}")
    if repeats < 1:
        raise ValueError(f"runtime repeats must be >= 1, got {repeats}")
    colorize(test_image(sizes[0], source))  # warm-up, not timed
    measurements, previous = [], None
    for size in sizes:
        gray = test_image(size, source)
        runs = repeats
        if previous is not None and size > 1024:
            estimate = previous["median"] * (size * size) / float(previous["size"] ** 2)
            if estimate * repeats > budget_s:
                runs = max(1, int(budget_s // max(estimate, 1e-9)))
                runs = min(runs, repeats)
        times = []
        for _ in range(runs):
            start = clock()
            colorize(gray)
            times.append(clock() - start)
        previous = {"size": size, "runs": runs, "times": times, "median": float(np.median(times))}
        measurements.append(previous)
        if progress:
            progress(f"runtime: {size}x{size}: median {previous['median']:.3f} s over {runs} run(s)")
    fit = fit_exponent([m["size"] for m in measurements], [m["median"] for m in measurements])
    return {"measurements": measurements, "fit": fit, "repeats": repeats, "budget_s": budget_s,
            "source": source or "synthetic"}


def machine():
    """A one-line description of this machine (CPU model, cores, torch threads)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    threads = ""
    try:
        import torch

        threads = f", torch threads {torch.get_num_threads()}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores{threads}, Python {platform.python_version()}"


def measure_colorizer(model=None, refine=None, **kwargs):
    """:func:`measure` of ``Colorizer.load(model, refine).colorize`` plus the model and machine.

    Raises ``FileNotFoundError`` when there is no model.
    """
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(model, refine=refine)
    result = measure(colorizer.colorize, **kwargs)
    result.update({"model": colorizer.model_dir, "refine": colorizer.refine, "machine": machine()})
    return result


def paper_slopes():
    """Scaling exponents of the paper's two reference rows."""
    out = {}
    for name, table in (("paper", PAPER), ("deshpande", DESHPANDE)):
        fit = fit_exponent(list(table), [table[s] for s in table])
        out[name] = fit["slope"] if fit else math.nan
    return out
