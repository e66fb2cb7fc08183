"""The report's figures (matplotlib, Agg backend, imported lazily).

matplotlib is an optional dependency (the ``bench`` extra of setup.cfg);
:func:`require_matplotlib` raises :class:`MatplotlibMissing` with the install command.
"""

import math

import numpy as np

INSTALL_HINT = "pip install -e .[bench]"


class MatplotlibMissing(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib():
    """``matplotlib.pyplot`` on the Agg backend, or :class:`MatplotlibMissing`."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MatplotlibMissing(
            f"the report's figures need matplotlib, which is not installed ({exc}); "
            f"install it with '{INSTALL_HINT}' or pass --no-figures") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, plt):
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def psnr_histograms(path, panels, title="Per-image PSNR"):
    """Overlaid histograms of per-image PSNR, one panel per dataset (the paper's Fig. 8).

    Parameters
    ----------
    panels : list of (panel title, {label: values})
    """
    plt = require_matplotlib()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), squeeze=False)
    for ax, (name, series) in zip(axes[0], panels):
        finite = {k: np.asarray(v, dtype=float)[np.isfinite(np.asarray(v, dtype=float))] for k, v in series.items()}
        allv = np.concatenate([v for v in finite.values() if v.size] or [np.zeros(1)])
        lo, hi = math.floor(allv.min()), math.ceil(allv.max())
        bins = np.linspace(lo, max(hi, lo + 1), max(10, min(40, int(hi - lo) * 2 + 1)))
        for i, (label, values) in enumerate(finite.items()):
            if not values.size:
                continue
            color = f"C{i}"
            ax.hist(values, bins=bins, histtype="step", linewidth=1.8, color=color,
                    label=f"{label} (mean {values.mean():.2f} dB, n={values.size})")
            ax.axvline(values.mean(), color=color, linestyle="--", linewidth=1)
        ax.set_xlabel("PSNR (dB)")
        ax.set_ylabel("images")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path, plt)


def image_grid(path, sections, method_label):
    """Columns of images, three rows each: gray input, ``method_label``, ground truth (Fig. 14).

    Parameters
    ----------
    sections : list of (section title, list of dict)
        Each dict: ``name``, ``gray`` (H, W) uint8, ``pred`` and ``gt`` (H, W, 3) uint8,
        ``psnr_gray`` and ``psnr_pred`` (dB).
    """
    plt = require_matplotlib()
    ncols = max(1, max(len(items) for _, items in sections))
    nrows = 3 * len(sections)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.45 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for s, (title, items) in enumerate(sections):
        for j, item in enumerate(items):
            cells = [(item["gray"], f"input  {item['psnr_gray']:.2f} dB"),
                     (item["pred"], f"{method_label}  {item['psnr_pred']:.2f} dB"),
                     (item["gt"], _short(item["name"]))]
            for i, (image, caption) in enumerate(cells):
                ax = axes[3 * s + i, j]
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
                ax.set_title(caption, fontsize=7, y=-0.14)
        axes[3 * s, 0].text(0, 1.06, title, transform=axes[3 * s, 0].transAxes, fontsize=10, fontweight="bold",
                            va="bottom")
    fig.tight_layout()
    return _save(fig, path, plt)


def _short(name, width=28):
    return name if len(name) <= width else "..." + name[-(width - 3):]


def runtime_plot(path, measurements, references, fit):
    """Seconds per image vs pixel count, log-log, ours beside the references (Table II).

    Parameters
    ----------
    measurements : list of dict with ``size`` and ``median``
    references : {label: {size: seconds}}
    fit : dict with ``slope`` and ``intercept`` (log seconds = intercept + slope log pixels) or None
    """
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    if measurements:
        px = np.array([m["size"] ** 2 for m in measurements], dtype=float)
        sec = np.array([m["median"] for m in measurements], dtype=float)
        label = "this implementation" + (f" (slope {fit['slope']:.2f})" if fit else "")
        ax.plot(px, sec, "o-", label=label, linewidth=2)
    for i, (name, table) in enumerate(references.items()):
        sizes = sorted(table)
        px = np.array([s * s for s in sizes], dtype=float)
        sec = np.array([table[s] for s in sizes], dtype=float)
        slope = np.polyfit(np.log(px), np.log(sec), 1)[0] if len(sizes) > 1 else math.nan
        ax.plot(px, sec, "s--", label=f"{name} (slope {slope:.2f})", color=f"C{i + 1}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels (square image)")
    ax.set_ylabel("seconds per image")
    ax.set_title("Run time vs image size (ideal slope 1)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path, plt)


def sweep_plot(path, sweeps, references=None):
    """Mean PSNR vs number of hints: ``sweeps`` maps (method, dataset) to rows, one colour per
    dataset, one marker per method; ``references``: {dataset: (label, PSNR)} dashed lines."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    datasets = list(dict.fromkeys(name for _, name in sweeps))
    methods = list(dict.fromkeys(method for method, _ in sweeps))
    for (method, name), rows in sweeps.items():
        i = datasets.index(name)
        k = np.array([float(r["hints"]) for r in rows])
        p = np.array([float(r["psnr_mean"]) for r in rows])
        ax.plot(k, p, "os^v"[methods.index(method) % 4] + "-", color=f"C{i}", label=f"{method}, {name}")
    for i, name in enumerate(datasets):
        if references and references.get(name) is not None:
            label, value = references[name]
            ax.axhline(value, color=f"C{i}", linestyle="--", linewidth=1, label=f"{label}, {name}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("simulated hints per image")
    ax.set_ylabel("mean PSNR (dB)")
    ax.set_title("PSNR vs number of hints")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path, plt)
