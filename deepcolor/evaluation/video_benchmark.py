"""The video benchmark: per-frame quality and temporal stability on sequences of color frames.

Every frame of a sequence is turned gray and colorized by each method, in order:

``gray``             U = V = 0;
``deepcolor``        every frame colorized on its own (:meth:`Colorizer.colorize`);
``deepcolor-video``  the stabilized video colorizer (:mod:`deepcolor.pipeline.video`).

Per frame: PSNR, SSIM and colorfulness as for images (:mod:`deepcolor.core.metrics`).
Per consecutive pair: the chroma warping error
(:func:`deepcolor.core.metrics.chroma_warping_error`) with the flow from frame t to t-1
computed once on the ground truth's gray frames (DIS, medium preset) and occlusions masked
by forward-backward consistency, for every method and for the ground truth itself. A
sequence's figure is the mean over its pairs; ``warp_ratio`` is the method's over the
ground truth's. Frames are streamed: memory holds two frames per method.

Output folder: ``per_sequence.csv`` (one row per sequence and method, written as each
sequence finishes, so ``resume`` skips finished sequences), ``summary.json`` (per method:
mean PSNR, SSIM, colorfulness, mean and worst warping ratio, seconds per frame) and
``strips/<sequence>.jpg`` (the first, middle and last frames: ground truth, then each
method, one row each).
"""

import csv
import json
import os
import time

import numpy as np

VIDEO_METHODS = ("gray", "deepcolor", "deepcolor-video")
FIELDS = ("sequence", "method", "frames", "psnr", "ssim", "colorfulness", "warp_error", "gt_warp_error",
          "warp_ratio", "seconds_per_frame")
PER_SEQUENCE = "per_sequence.csv"


def parse_methods(text):
    """Method names from a comma-separated list; ``ValueError`` naming an unknown one."""
    methods = [m.strip() for m in (text or ",".join(VIDEO_METHODS)).split(",") if m.strip()]
    unknown = [m for m in methods if m not in VIDEO_METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown video method(s) {', '.join(unknown) or '(none)'}; the video benchmark runs "
                         f"{', '.join(VIDEO_METHODS)}")
    return list(dict.fromkeys(methods))


def _frames(path):
    from deepcolor.core.video import read_frame_folder, read_frames

    return read_frame_folder(path) if os.path.isdir(path) else read_frames(path)


def _producers(methods, colorizer, settings):
    from deepcolor.core.color import gray_to_rgb
    from deepcolor.core.settings import VideoSettings
    from deepcolor.pipeline.video import VideoColorizer

    made, stabilizers = {}, {}
    for method in methods:
        if method == "gray":
            made[method] = gray_to_rgb
            continue
        stabilizers[method] = VideoColorizer(colorizer, VideoSettings(stabilize=False) if method == "deepcolor"
                                             else settings)
        made[method] = stabilizers[method].colorize_frame
    return made, stabilizers


def evaluate_sequence(name, path, methods, colorizer=None, settings=None, strip_path=None, progress=None):
    """Rows (dicts of :data:`FIELDS`) of one sequence, one per method; see the module's notes.

    The ``deepcolor-video`` row also holds ``shots``, the first frame of each shot found.
    """
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.flow import backward_flow_and_mask
    from deepcolor.core.metrics import chroma_warping_error, colorfulness, psnr, ssim

    producers, stabilizers = _producers(methods, colorizer, settings)
    sums = {m: {"psnr": 0.0, "ssim": 0.0, "colorfulness": 0.0, "warp": [], "seconds": 0.0} for m in methods}
    gt_warp = []
    previous = None  # (gt gray, gt rgb, {method: output})
    shown = {}
    length = _length(path)
    picks = {0, length // 2, length - 1} if length else {0}
    count = 0
    for index, rgb in _frames(path):
        gray = rgb2gray(rgb)
        outputs = {}
        for method in methods:
            t0 = time.perf_counter()
            outputs[method] = producers[method](gray)
            sums[method]["seconds"] += time.perf_counter() - t0
            sums[method]["psnr"] += psnr(rgb, outputs[method])
            sums[method]["ssim"] += ssim(rgb, outputs[method])
            sums[method]["colorfulness"] += colorfulness(outputs[method])
        if previous is not None:
            backward, visible = backward_flow_and_mask(gray, previous[0])
            gt_warp.append(chroma_warping_error(rgb, previous[1], backward, visible))
            for method in methods:
                sums[method]["warp"].append(chroma_warping_error(outputs[method], previous[2][method], backward,
                                                                 visible))
        previous = (gray, rgb, outputs)
        if strip_path is not None and (index in picks or not length):
            shown[index] = [rgb] + [outputs[m] for m in methods]
            if not length:  # a video that does not say its length: the first and the latest frame
                shown = {k: v for k, v in shown.items() if k in (0, index)}
        count += 1
        if progress:
            progress()
    if count == 0:
        raise ValueError(f"{path}: no frames")
    if strip_path is not None:
        _write_strip(strip_path, shown)
    gt_mean = float(np.nanmean(gt_warp)) if gt_warp else float("nan")
    rows = []
    for method in methods:
        s = sums[method]
        warp = float(np.nanmean(s["warp"])) if s["warp"] else float("nan")
        rows.append({"sequence": name, "method": method, "frames": count, "psnr": s["psnr"] / count,
                     "ssim": s["ssim"] / count, "colorfulness": s["colorfulness"] / count, "warp_error": warp,
                     "gt_warp_error": gt_mean, "warp_ratio": warp / gt_mean if gt_mean > 0 else float("nan"),
                     "seconds_per_frame": s["seconds"] / count})
        if method == "deepcolor-video":
            rows[-1]["shots"] = list(stabilizers[method].shots)
    return rows


def _length(path):
    from deepcolor.core.video import frame_files, probe

    return len(frame_files(path)) if os.path.isdir(path) else probe(path).frames


def _write_strip(path, shown):
    from deepcolor.core.io import save_image

    keys = sorted(shown)
    rows = []
    for r in range(len(shown[keys[0]])):
        rows.append(np.concatenate([shown[k][r] for k in keys], axis=1))
    save_image(path, np.concatenate(rows, axis=0), overwrite=True)


def _read_done(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def summarize(rows, methods):
    """Per method: mean PSNR/SSIM/colorfulness, mean and worst warping ratio, seconds per frame."""
    out = {}
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        frames = sum(int(r["frames"]) for r in mine)

        def mean(key, weighted=False):
            values = [float(r[key]) for r in mine]
            if weighted:
                return sum(float(r[key]) * int(r["frames"]) for r in mine) / frames
            return float(np.nanmean(values))

        ratios = [float(r["warp_ratio"]) for r in mine]
        worst = max(mine, key=lambda r: float(r["warp_ratio"]))
        out[method] = {"sequences": len(mine), "frames": frames, "psnr": mean("psnr"), "ssim": mean("ssim"),
                       "colorfulness": mean("colorfulness"), "warp_error": mean("warp_error"),
                       "warp_ratio_mean": float(np.nanmean(ratios)), "warp_ratio_max": float(np.nanmax(ratios)),
                       "worst_sequence": worst["sequence"],
                       "seconds_per_frame": mean("seconds_per_frame", weighted=True)}
    return out


def run_video_benchmark(outdir, sequences, methods, colorizer=None, settings=None, *, resume=False, quiet=False):
    """Run :func:`evaluate_sequence` over ``sequences`` (``[(name, path)]``) into ``outdir``.

    Returns the summary (also written to ``summary.json``). With ``resume``, sequences
    already in ``per_sequence.csv`` are kept and skipped.
    """
    from tqdm import tqdm

    from deepcolor.core.files import write_text

    os.makedirs(os.path.join(outdir, "strips"), exist_ok=True)
    table = os.path.join(outdir, PER_SEQUENCE)
    rows = _read_done(table) if resume else []
    done = {r["sequence"] for r in rows}
    if not resume and os.path.exists(table):
        os.remove(table)
    todo = [(n, p) for n, p in sequences if n not in done]
    bar = tqdm(desc="video benchmark", unit="frame", disable=quiet)
    for name, path in todo:
        bar.set_postfix_str(name)
        new = evaluate_sequence(name, path, methods, colorizer, settings,
                                strip_path=os.path.join(outdir, "strips", f"{name}.jpg"), progress=lambda: bar.update())
        fresh = not os.path.exists(table)
        with open(table, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
            if fresh:
                writer.writeheader()
            writer.writerows(new)
        rows += [{k: str(r[k]) for k in FIELDS} for r in new]
    bar.close()
    summary = {"methods": summarize(rows, methods), "sequences": [n for n, _ in sequences]}
    write_text(os.path.join(outdir, "summary.json"), json.dumps(summary, indent=1) + "\n")
    return summary


def format_table(summary):
    """A text table of :func:`run_video_benchmark`'s summary."""
    lines = [f"{'method':<17}{'PSNR':>7}{'SSIM':>7}{'CF':>7}{'warp err':>11}{'x GT mean':>10}{'x GT max':>9}"
             f"{'s/frame':>9}"]
    for method, s in summary["methods"].items():
        lines.append(f"{method:<17}{s['psnr']:7.2f}{s['ssim']:7.3f}{s['colorfulness']:7.1f}"
                     f"{s['warp_error'] * 1e3:9.4f}e-3{s['warp_ratio_mean']:10.2f}{s['warp_ratio_max']:9.2f}"
                     f"{s['seconds_per_frame']:9.3f}")
    return "\n".join(lines)
