"""Statistics of per-image scores: bootstrap confidence intervals and paired tests.

Every resampling is seeded (``numpy.random.default_rng(seed)``), so a report is
reproducible. Non-finite values (PSNR is ``inf`` for a prediction identical to the
ground truth) are left out, as :func:`deepcolor.evaluation.benchmark.summarize` leaves them out
of the mean.
"""

import math
import warnings

import numpy as np

#: Bootstrap resamples used by the report.
from deepcolor.evaluation.report.specs import N_RESAMPLES  # the setting's one home
#: Confidence level of the intervals.
LEVEL = 0.95


def finite(values):
    """``values`` as a float64 array without NaN and infinities."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def _resample_means(values, n_resamples, rng, chunk=250):
    """Means of ``n_resamples`` bootstrap resamples of ``values`` (in chunks: bounded memory)."""
    n = values.size
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        index = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[index].mean(axis=1)
    return means


def bootstrap_ci(values, *, n_resamples=N_RESAMPLES, level=LEVEL, seed=0):
    """Percentile bootstrap confidence interval of the mean.

    Returns
    -------
    (low, high) : tuple of float
        NaN for no finite value; ``(v, v)`` for one value.
    """
    values = finite(values)
    if values.size == 0:
        return (math.nan, math.nan)
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    means = _resample_means(values, int(n_resamples), np.random.default_rng(seed))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def paired(a, b):
    """The pairs ``(a[i], b[i])`` where both are finite, as two arrays."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def paired_bootstrap(a, b, *, n_resamples=N_RESAMPLES, level=LEVEL, seed=0):
    """Paired bootstrap of the mean difference ``a - b`` over images.

    The p-value is two-sided, from the bootstrap distribution shifted to the null
    hypothesis (mean difference 0): ``(1 + #{|d* - d| >= |d|}) / (1 + B)``.

    Returns
    -------
    dict
        ``n``, ``mean_diff``, ``ci`` (low, high) and ``p``; NaN where undefined (no pair).
    """
    a, b = paired(a, b)
    diff = a - b
    if diff.size == 0:
        return {"n": 0, "mean_diff": math.nan, "ci": (math.nan, math.nan), "p": math.nan}
    mean = float(diff.mean())
    if diff.size == 1 or np.all(diff == diff[0]):
        # no spread: every resample has the same mean
        return {"n": int(diff.size), "mean_diff": mean, "ci": (mean, mean), "p": 1.0 if mean == 0 else math.nan}
    means = _resample_means(diff, int(n_resamples), np.random.default_rng(seed))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    extreme = np.count_nonzero(np.abs(means - mean) >= abs(mean))
    p = (1 + extreme) / (1 + means.size)
    return {"n": int(diff.size), "mean_diff": mean, "ci": (float(low), float(high)), "p": float(min(1.0, p))}


def wilcoxon_p(a, b):
    """Two-sided p-value of the Wilcoxon signed-rank test of ``a - b`` (scipy), NaN when undefined.

    All-zero differences (identical methods) give 1.0.
    """
    from scipy import stats

    a, b = paired(a, b)
    diff = a - b
    if diff.size == 0:
        return math.nan
    if np.all(diff == 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample and tie warnings: the p-value is still reported
        try:
            result = stats.wilcoxon(diff)
        except ValueError:
            return math.nan
    p = float(result.pvalue)
    return p if math.isfinite(p) else math.nan


def describe(values, *, n_resamples=N_RESAMPLES, level=LEVEL, seed=0):
    """``n``, ``mean``, ``median``, ``std`` and bootstrap ``ci`` of per-image values.

    ``mean``, ``std`` and the interval use the finite values; ``median`` all of them
    (an infinite PSNR is a legitimate "perfect" score for the median).
    """
    raw = np.asarray(values, dtype=np.float64).ravel()
    raw = raw[~np.isnan(raw)]
    good = finite(raw)
    return {
        "n": int(raw.size),
        "mean": float(good.mean()) if good.size else math.nan,
        "median": float(np.median(raw)) if raw.size else math.nan,
        "std": float(good.std()) if good.size else math.nan,
        "ci": bootstrap_ci(good, n_resamples=n_resamples, level=level, seed=seed),
    }
