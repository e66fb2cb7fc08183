"""The report's video section: the video benchmark run (or reused) and its table and strips.

The run folder is ``RUNS/video/<dataset>/``, an ordinary ``deepcolor benchmark --dataset
davis`` folder (:mod:`deepcolor.evaluation.video_benchmark`): reused when its ``run.json``
matches, sequences already scored are kept.
"""

import os
import shutil

from deepcolor.evaluation.report.tables import Table


def run_video_section(settings, root, runs, log):
    """The video benchmark's summary for ``settings.video`` (``davis``, or a folder of sequences)."""
    from deepcolor.data.videos import video_sequences
    from deepcolor.evaluation import runs as run_folders
    from deepcolor.evaluation import video_benchmark as vb

    dataset, folder = ("davis", None) if settings.video == "davis" else ("video", settings.video)
    sequences = video_sequences(dataset, root, folder)
    if settings.limit is not None:
        sequences = sequences[: settings.limit]
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(settings.model)
    run_dir = os.path.join(runs, "video", dataset if folder is None else os.path.basename(os.path.normpath(folder)))
    config = {"dataset": dataset, "folder": folder, "methods": list(vb.VIDEO_METHODS), "limit": settings.limit,
              "model": settings.model}
    run_folders.prepare_outdir(run_dir, config, resume=True)
    log(f"report: video benchmark ({len(sequences)} sequences) in {run_dir}")
    summary = vb.run_video_benchmark(run_dir, sequences, list(vb.VIDEO_METHODS), colorizer, resume=True,
                                     quiet=settings.quiet)
    return {"run_dir": run_dir, "summary": summary, "dataset": dataset}


def write_video_section(doc, video, out):
    """Heading, table (per method and per sequence) and one strip per sequence."""
    from deepcolor.evaluation.video_benchmark import PER_SEQUENCE, _read_done

    doc.heading("Video")
    if video is None:
        return
    doc.paragraph("Every frame turned gray and colorized in order; PSNR, SSIM and colorfulness per frame as "
                  "for images; the chroma warping error per pair of consecutive frames (mean squared U/255, "
                  "V/255 difference to the previous output frame warped along the DIS flow of the ground "
                  "truth's gray frames, occlusions masked by forward-backward consistency), also for the "
                  "ground truth; *x GT* is the method's over the ground truth's.")
    table = Table(["method", "PSNR", "SSIM", "colorfulness", "warp error (1e-3)", "x GT mean", "x GT worst",
                   "worst sequence", "s / frame"])
    for method, s in video["summary"]["methods"].items():
        table.add([method, f"{s['psnr']:.2f}", f"{s['ssim']:.3f}", f"{s['colorfulness']:.1f}",
                   f"{s['warp_error'] * 1e3:.4f}", f"{s['warp_ratio_mean']:.2f}", f"{s['warp_ratio_max']:.2f}",
                   s["worst_sequence"], f"{s['seconds_per_frame']:.3f}"])
    doc.table(table)
    rows = _read_done(os.path.join(video["run_dir"], PER_SEQUENCE))
    per = Table(["sequence", "method", "frames", "PSNR", "warp error (1e-3)", "x GT"])
    for r in rows:
        per.add([r["sequence"], r["method"], r["frames"], f"{float(r['psnr']):.2f}",
                 f"{float(r['warp_error']) * 1e3:.4f}", f"{float(r['warp_ratio']):.2f}"])
    doc.table(per)
    strips = os.path.join(out, "video_strips")
    os.makedirs(strips, exist_ok=True)
    for name in video["summary"]["sequences"]:
        source = os.path.join(video["run_dir"], "strips", f"{name}.jpg")
        if os.path.exists(source):
            shutil.copyfile(source, os.path.join(strips, f"{name}.jpg"))
            doc.image(f"video_strips/{name}.jpg", f"{name}: first, middle and last frame; rows: ground truth, "
                      + ", ".join(video["summary"]["methods"]))
