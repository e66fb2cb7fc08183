"""The benchmark harness: run a registered method (or score a folder of another model's
outputs) on a dataset with the paper's protocol, and write per-image and summary results.

Protocol: the input is the release's 8-bit luminance of the ground truth
(:func:`deepcolor.core.color.rgb2gray`); the prediction is scored at the image's native size
with :func:`deepcolor.core.metrics.all_metrics` (8-bit RGB PSNR over three channels, SSIM,
raw-accuracy AuC, colorfulness). ``seconds`` is the wall time of the method's call on
that image (0 when scoring a predictions folder).
"""

import csv
import math
import os
import sys
import time

import numpy as np

from deepcolor.core.color import rgb2gray
from deepcolor.core.io import ImageReadError, is_image_file, load_rgb
from deepcolor.core.metrics import all_metrics, colorfulness
from deepcolor.core.parallel import in_processes, one_thread, parallel_jobs, release_freed_memory
from deepcolor.core.settings import DEFAULT_METRICS, METRICS
from deepcolor.evaluation.registry import Sample, get_method

FIELDS = ("image", "category", "psnr", "ssim", "auc", "colorfulness", "seconds")
#: Per-image columns of the metrics a run may add (``--metrics``): the ground truth's
#: colorfulness (for the dataset-level difference ΔCF) and LPIPS.
OPTIONAL_FIELDS = {"dcf": "colorfulness_gt", "lpips": "lpips"}
PARTIAL = "per_image.partial.csv"


#: The ``256`` protocol (:data:`deepcolor.core.settings.PROTOCOLS`), as the newer papers evaluate
#: ImageNet-val, COCO-Stuff and ADE20K: the short side resized to 256, then the central
#: 256x256 crop, for the ground truth and for the method's input alike.
PROTOCOL_SIZE = 256


def apply_protocol(rgb, protocol):
    """The ground truth (or a full-size prediction) as ``protocol`` scores it: (H, W, 3) uint8."""
    if protocol == "native":
        return rgb
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = PROTOCOL_SIZE / min(h, w)
    size = (max(PROTOCOL_SIZE, round(w * scale)), max(PROTOCOL_SIZE, round(h * scale)))
    # bilinear with antialiasing, as torchvision's Resize on PIL images
    resized = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR, reducing_gap=None))
    top, left = (size[1] - PROTOCOL_SIZE) // 2, (size[0] - PROTOCOL_SIZE) // 2
    return np.ascontiguousarray(resized[top:top + PROTOCOL_SIZE, left:left + PROTOCOL_SIZE])


def parse_metrics(text):
    """``"psnr,lpips"`` / ``"all"`` -> the tuple of metric names (always with the defaults)."""
    names = METRICS if str(text).strip() == "all" else tuple(t.strip() for t in str(text).split(",") if t.strip())
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"--metrics: unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)} or 'all'")
    return tuple(m for m in METRICS if m in set(names) | set(DEFAULT_METRICS))


def fields_for(metrics):
    """The ``per_image.csv`` columns of a run computing ``metrics``."""
    return FIELDS + tuple(OPTIONAL_FIELDS[m] for m in (metrics or ()) if m in OPTIONAL_FIELDS)


class PredictionsError(ValueError):
    """A predictions folder does not match the dataset; the message lists the files."""


# --------------------------------------------------------------------------- predictions


def _prediction_index(folder):
    index = {}
    for directory, _, files in os.walk(folder):
        for f in files:
            if is_image_file(f):
                full = os.path.join(directory, f)
                index.setdefault(os.path.splitext(os.path.relpath(full, folder))[0], full)
    return index


def match_predictions(folder, records, *, max_listed=20, protocol="native"):
    """Map each record to its prediction file in ``folder`` (same relative name, any image
    extension) and check sizes (the ground truth's, or with ``protocol`` "256" also
    256x256); raise :class:`PredictionsError` listing every problem.

    Returns
    -------
    dict
        ``{record.name: prediction path}``.
    """
    from PIL import Image

    if not os.path.isdir(folder):
        raise PredictionsError(f"{folder}: predictions folder not found")
    index = _prediction_index(folder)
    matched, missing, mismatched = {}, [], []
    for record in records:
        path = index.get(os.path.splitext(record.name)[0])
        if path is None:
            missing.append(record.name)
            continue
        try:
            with Image.open(path) as pred, Image.open(record.path) as gt:
                if pred.size != gt.size and not (protocol == "256" and pred.size == (PROTOCOL_SIZE,) * 2):
                    mismatched.append(f"{path} is {pred.size[0]}x{pred.size[1]}, ground truth {gt.size[0]}x{gt.size[1]}")
                    continue
        except OSError as exc:
            mismatched.append(f"{path}: cannot read ({exc})")
            continue
        matched[record.name] = path
    if missing or mismatched:
        lines = [f"{folder}: predictions do not match the dataset ({len(records)} images)"]
        if missing:
            lines.append(f"missing {len(missing)}: " + ", ".join(missing[:max_listed]) + (" ..." if len(missing) > max_listed else ""))
        if mismatched:
            lines.append(f"mismatched {len(mismatched)}:\n  " + "\n  ".join(mismatched[:max_listed]) + ("\n  ..." if len(mismatched) > max_listed else ""))
        raise PredictionsError("\n".join(lines))
    return matched


def _predictions_method(matched):
    def predict(sample):
        return load_rgb(matched[sample.name])

    return predict


# --------------------------------------------------------------------------- running


def _check_prediction(pred, gt, name, method):
    pred = np.asarray(pred)
    if pred.dtype != np.uint8 or pred.shape != gt.shape:
        raise ValueError(f"method {method!r} returned {pred.dtype} {pred.shape} for {name}; expected uint8 {gt.shape}")
    return pred


def score_records(records, method_name, options, predict=None, uses_ground_truth=False):
    """Run a method on ``records`` and yield one result row (dict of :data:`FIELDS`) per image.

    Unreadable ground-truth files are skipped with a row whose metrics are NaN and an
    ``error`` key, so a batch continues past them.
    """
    if predict is None:
        spec = get_method(method_name)
        predict = spec.factory(options)
        uses_ground_truth = spec.uses_ground_truth
    metrics = options.get("metrics") or DEFAULT_METRICS
    protocol = options.get("protocol") or "native"
    lpips = inception = None
    if "lpips" in metrics:
        from deepcolor.evaluation.lpips import LPIPS

        lpips = LPIPS(cache=options.get("cache_dir"))
    if "fid" in metrics:
        from deepcolor.evaluation.fid import InceptionFeatures

        inception = InceptionFeatures()
    for record in records:
        index = options.get("_indices", {}).get(record.name, 0)
        try:
            full = load_rgb(record.path)
        except ImageReadError as exc:
            yield {**_empty_row(record), "error": str(exc)}
            continue
        gt = apply_protocol(full, protocol)
        sample = Sample(record.name, rgb2gray(gt), gt if uses_ground_truth else None, record.category, index)
        start = time.perf_counter()
        pred = np.asarray(predict(sample))
        seconds = time.perf_counter() - start
        if protocol != "native" and pred.shape == full.shape and pred.shape != gt.shape:
            pred = apply_protocol(pred, protocol)  # another model's full-size output, cropped like the truth
        pred = _check_prediction(pred, gt, record.name, method_name)
        row = {"image": record.name, "category": record.category or "", **all_metrics(gt, pred), "seconds": seconds}
        if "dcf" in metrics:
            row["colorfulness_gt"] = colorfulness(gt)
        if lpips is not None:
            row["lpips"] = lpips(gt, pred)
        if inception is not None:
            _store_fid_features(inception, record, gt, pred, options)
        if options.get("save_images_dir"):
            from deepcolor.core.io import save_image

            out = os.path.join(options["save_images_dir"], os.path.splitext(record.name)[0] + ".png")
            save_image(out, pred, overwrite=True)
        yield row


def fid_feature_files(record, options):
    """``(ground truth, prediction)`` feature files of one image: the ground truth's in the
    cache (shared by every run on the same file), the prediction's in the run folder."""
    import hashlib

    from deepcolor.core.paths import cache_dir
    from deepcolor.data.cache import file_identity

    ident = hashlib.sha1(repr(sorted(file_identity(record.path).items())).encode()).hexdigest()
    gt = os.path.join(cache_dir(options.get("cache_dir"), "fid_ground_truth"), ident[:2], f"{ident}.npy")
    pred = os.path.join(options["fid_dir"], hashlib.sha1(record.name.encode()).hexdigest() + ".npy")
    return gt, pred


def _store_fid_features(inception, record, gt, pred, options):
    from deepcolor.core.files import atomic_write

    gt_file, pred_file = fid_feature_files(record, options)
    for path, image in ((gt_file, gt), (pred_file, pred)):
        if path == gt_file and os.path.isfile(path):
            continue
        with atomic_write(path, suffix=".npy") as tmp:
            np.save(tmp, inception([image])[0].astype(np.float32))


def fid_of_run(records, rows, options):
    """``{"fid", "fid_images"}`` of a finished run from the stored features (see :mod:`fid`)."""
    from deepcolor.evaluation.fid import FEW_IMAGES, fid_from_features

    scored = {r["image"] for r in rows if not r.get("error")}
    gts, preds = [], []
    for record in records:
        if record.name in scored:
            gt_file, pred_file = fid_feature_files(record, options)
            gts.append(np.load(gt_file))
            preds.append(np.load(pred_file))
    value = fid_from_features(np.stack(gts), np.stack(preds))
    if len(gts) < FEW_IMAGES:
        print(f"warning: FID over {len(gts)} images (under {FEW_IMAGES} it is strongly biased: compare it only "
              "between methods on the same images)", file=sys.stderr)
    return {"fid": value, "fid_images": len(gts)}


def _empty_row(record):
    return {"image": record.name, "category": record.category or "", "psnr": math.nan, "ssim": math.nan,
            "auc": math.nan, "colorfulness": math.nan, "seconds": math.nan}


def _chunk_worker(records, method_name, options, predictions):
    from threadpoolctl import threadpool_limits

    # jobs processes x N BLAS/torch threads each would oversubscribe the cores.
    with threadpool_limits(1):
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
        one_thread()
        predict = _predictions_method(predictions) if predictions is not None else None
        rows = list(score_records(records, method_name, options, predict=predict))
    release_freed_memory()  # before loky measures this worker's growth (see its docstring)
    return rows


def run(records, method_name, options, *, jobs=1, predictions=None, progress=True, on_row=None):
    """Score ``records``; returns the list of rows in record order.

    Parameters
    ----------
    records : list of ImageRecord
    method_name : str
        A registered method, or a label for ``predictions``.
    options : dict
        Passed to the method's factory.
    jobs : int
        Worker processes (each builds the method once).
    predictions : dict or None
        ``{record name: file}`` from :func:`match_predictions`: score these files instead.
    on_row : callable, optional
        Called with each finished row (used to write partial results as they come).
    """
    from tqdm.auto import tqdm

    options = {**options, "_indices": {r.name: i for i, r in enumerate(records)}}
    bar = tqdm(total=len(records), desc=method_name, unit="img", disable=not progress or len(records) < 2,
               mininterval=0.1 if sys.stderr.isatty() else 10.0)
    rows = []
    if not in_processes(jobs):
        predict = _predictions_method(predictions) if predictions is not None else None
        for row in score_records(records, method_name, options, predict=predict):
            rows.append(row)
            if on_row:
                on_row(row)
            bar.update()
    else:
        from joblib import Parallel, delayed

        if predictions is None:
            _prepare_method(method_name, options)
        size = max(1, min(16, math.ceil(len(records) / (jobs * 4))))
        chunks = [records[i : i + size] for i in range(0, len(records), size)]
        parallel = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator")
        for chunk_rows in parallel(delayed(_chunk_worker)(c, method_name, options, predictions) for c in chunks):
            for row in chunk_rows:
                rows.append(row)
                if on_row:
                    on_row(row)
            bar.update(len(chunk_rows))
    bar.close()
    return rows


def _prepare_method(method_name, options):
    """The method's ``prepare`` hook, once, before the workers start (see ``register_method``)."""
    from deepcolor.evaluation.registry import get_method

    spec = get_method(method_name)
    if spec.prepare is not None:
        spec.prepare(options)


# --------------------------------------------------------------------------- results


def summarize(rows, *, dataset, split, method, extra=None):
    """The ``summary.json`` dictionary of a run (NaN rows, i.e. unreadable images, excluded)."""
    good = [r for r in rows if not r.get("error")]
    if not good:
        raise ValueError("no image could be scored")
    col = {k: np.array([r[k] for r in good], dtype=np.float64) for k in ("psnr", "ssim", "auc", "colorfulness", "seconds")}
    finite_psnr = col["psnr"][np.isfinite(col["psnr"])]
    summary = {
        "dataset": dataset,
        "split": split,
        "method": method,
        "n_images": len(good),
        "n_skipped": len(rows) - len(good),
        "skipped": [r["error"] for r in rows if r.get("error")],
        "psnr_mean": float(np.mean(finite_psnr)) if finite_psnr.size else float("inf"),
        "psnr_median": float(np.median(col["psnr"])),
        "psnr_std": float(np.std(finite_psnr)) if finite_psnr.size else 0.0,
        "ssim_mean": float(np.nanmean(col["ssim"])),
        "auc_mean": float(np.mean(col["auc"])),
        "colorfulness_mean": float(np.mean(col["colorfulness"])),
        "seconds_median": float(np.median(col["seconds"])),
        "protocol": "8-bit RGB PSNR over three channels (peak 255), native image size; input = release luminance rgb2gray",
    }
    if extra and extra.get("image_protocol") == "256":
        summary["protocol"] = summary["protocol"].replace(
            "native image size", "images: short side resized to 256 (bilinear, antialiased), central 256x256 crop")
    if any("lpips" in r for r in good):
        summary["lpips_mean"] = float(np.nanmean([r.get("lpips", math.nan) for r in good]))
    if any("colorfulness_gt" in r for r in good):
        cf_gt = float(np.nanmean([r.get("colorfulness_gt", math.nan) for r in good]))
        summary["colorfulness_gt_mean"] = cf_gt
        # ΔCF as the newer papers report it: the difference of the dataset means
        summary["dcf"] = abs(summary["colorfulness_mean"] - cf_gt)
    if extra:
        summary.update(extra)
    return summary


def write_rows(path, rows):
    fields = FIELDS + tuple(f for f in OPTIONAL_FIELDS.values() if any(f in r for r in rows))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{row[k]:.6f}" if isinstance(row.get(k), float) else row.get(k, ""))
                             for k in fields})


def read_rows(path):
    """Rows of a ``per_image.csv`` (numbers as floats)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    numeric = set(FIELDS[2:]) | set(OPTIONAL_FIELDS.values())
    for row in rows:
        for k in numeric & set(row):
            row[k] = float(row[k]) if row[k] != "" else math.nan
    return rows


def format_table(summaries):
    """A plain-text table of summaries, one row each."""
    head = f"{'method':<22} {'dataset':<10} {'split':<6} {'n':>5} {'PSNR mean':>9} {'median':>7} {'SSIM':>6} {'AuC':>6} {'colorf.':>7} {'s/img':>7}"
    lines = [head, "-" * len(head)]
    for s in summaries:
        lines.append(
            f"{s['method']:<22} {s['dataset']:<10} {s['split']:<6} {s['n_images']:>5} {s['psnr_mean']:>9.2f} "
            f"{s['psnr_median']:>7.2f} {s['ssim_mean']:>6.3f} {s['auc_mean']:>6.3f} {s['colorfulness_mean']:>7.2f} "
            f"{s['seconds_median']:>7.3f}"
        )
    return "\n".join(lines)
