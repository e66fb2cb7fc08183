"""Writing the report: ``report.md``, ``report.html`` (figures inline), ``report.tex`` (one row
per method: the table a paper pastes), ``report.json`` and the figures."""

import datetime
import json
import os

import numpy as np

from deepcolor.core.provenance import git_commit
from deepcolor.evaluation.report.document import Document
from deepcolor.evaluation.report.grids import _gray_psnr, _grid_items, _selections
from deepcolor.evaluation.report.specs import DATASET_TITLES, SPLITS
from deepcolor.evaluation.report.tables import (category_table, main_table, num, paper_table, runtime_table,
                                               sweep_table)

PROTOCOL = ("8-bit RGB PSNR over the three channels (peak 255), each image at its native size, "
            "the input being the release's 8-bit luminance (rgb2gray) of the ground truth; "
            "SSIM, raw-accuracy AuC (ab threshold 0..150) and colorfulness as in deepcolor.core.metrics. "
            "Mean, std and the confidence interval use the finite PSNRs (a prediction identical to the "
            "ground truth has infinite PSNR), the median all of them.")


def write_report(report, settings, log=print):
    """Figures, ``report.md``, ``report.html`` and ``report.json`` into ``settings.output``."""
    from deepcolor.evaluation.report import runtime as rt

    out = settings.output
    doc = Document("Deep Colorization: benchmark report")
    commit = git_commit()
    commit = commit[:7] if commit else None
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc.paragraph(f"Generated {now}" + (f" at commit `{commit}`" if commit else "") + ".")
    if settings.command:
        doc.code(settings.command)
    doc.heading("Protocol")
    doc.bullets([
        PROTOCOL,
        f"Confidence interval: percentile bootstrap of the mean PSNR over images, {settings.resamples} resamples, seed {settings.seed}.",
        "Significance against the reference method (marked *ref*): paired over the images both scored; "
        "ΔPSNR = mean of (method - reference); p (paired bootstrap) = two-sided, from the bootstrap distribution "
        "of the mean difference shifted to 0; p (Wilcoxon) = scipy.stats.wilcoxon signed-rank test of the differences. "
        "With few images the bootstrap p is optimistic (it ignores how few there are): trust the Wilcoxon p there.",
        "s/img = median wall time of the method's call per image (model loading excluded; 0 for predictions folders).",
        f"Run folders (ordinary `deepcolor benchmark` outputs, reused when their run.json matches): `{report['runs']}`.",
    ])
    missing_note = []
    hist_panels, grid_sections, worst_sections, best_sections = [], [], [], []
    selections = {}
    for ds, part in report["datasets"].items():
        title = DATASET_TITLES[ds]
        n = len(part["records"])
        doc.heading(f"{title} ({SPLITS[ds] if ds != 'folder' else settings.folder}, {n} images)")
        ref = part["reference"]
        if ref != settings.reference:
            missing_note.append(f"{title}: the reference {settings.reference!r} is not available; "
                                f"comparisons use {ref!r}" if ref else f"{title}: no method could be scored")
            doc.paragraph(missing_note[-1] + ".")
        doc.table(main_table(part["results"], ref))
        if any(row.get("category") for r in part["results"] if r["status"] == "ok" for row in r["rows"]):
            from deepcolor.data.datasets import SIFTFLOW_CATEGORIES

            doc.heading(f"{title}: mean PSNR per category", 3)
            doc.table(category_table(part["results"], SIFTFLOW_CATEGORIES if ds == "siftflow" else None))
        for method, rows in (part.get("sweeps") or {}).items():
            doc.heading(f"{title}: {method}, PSNR vs number of hints", 3)
            ref_result = next((r for r in part["results"] if r["label"] == ref), None)
            doc.table(sweep_table(rows, ref_result["psnr"]["mean"] if ref_result else None))
        ok = {r["label"]: r for r in part["results"] if r["status"] == "ok"}
        if ref:
            series = {ref: [row["psnr"] for row in ok[ref]["rows"]]}
            if "deepcolor-single" in ok and "deepcolor-single" != ref:
                series["deepcolor-single"] = [row["psnr"] for row in ok["deepcolor-single"]["rows"]]
            hist_panels.append((title, series))
            selections[ds] = _selections(ok[ref], settings.n_grid, settings.n_extremes, settings.seed)

    if settings.figures:
        from deepcolor.evaluation.report import figures

        refs = {ds: part["reference"] for ds, part in report["datasets"].items() if part["reference"]}
        ref_names = sorted(set(refs.values()))
        method_label = ref_names[0] if len(ref_names) == 1 else "method"
        if hist_panels:
            figures.psnr_histograms(os.path.join(out, "psnr_hist.png"), hist_panels,
                                    "Per-image PSNR")
            doc.heading("PSNR distribution")
            single = any("deepcolor-single" in s for _, s in hist_panels)
            doc.image("psnr_hist.png", "Per-image PSNR histograms (the paper's Fig. 8): " + ", ".join(ref_names)
                      + (" vs deepcolor-single (one network, no clustering)" if single
                         else "; deepcolor-single not available, so no comparison without clustering"))
        for ds, sel in selections.items():
            part = report["datasets"][ds]
            ref = next(r for r in part["results"] if r["label"] == part["reference"])
            title = DATASET_TITLES[ds]
            log(f"report: {title}: images for the qualitative figures")
            grid_sections.append((title, _grid_items(ref, part["records"], sel["grid"], _gray_psnr)))
            worst_sections.append((title + ": worst", _grid_items(ref, part["records"], sel["worst"], _gray_psnr)))
            best_sections.append((title + ": best", _grid_items(ref, part["records"], sel["best"], _gray_psnr)))
        if grid_sections:
            doc.heading("Qualitative results")
            figures.image_grid(os.path.join(out, "grid.png"), grid_sections, method_label)
            doc.image("grid.png", f"Gray input, {method_label}, ground truth, PSNR under each (the paper's Fig. 14); "
                      f"up to {settings.n_grid} images per dataset drawn with seed {settings.seed}")
            figures.image_grid(os.path.join(out, "worst.png"), worst_sections, method_label)
            doc.image("worst.png", f"The {settings.n_extremes} images with the lowest PSNR of {method_label}")
            figures.image_grid(os.path.join(out, "best.png"), best_sections, method_label)
            doc.image("best.png", f"The {settings.n_extremes} images with the highest PSNR of {method_label}")
        sweeps = {(method, DATASET_TITLES[ds]): rows for ds, p in report["datasets"].items()
                  for method, rows in (p.get("sweeps") or {}).items()}
        if sweeps:
            refs_psnr = {}
            for ds, p in report["datasets"].items():
                r = next((r for r in p["results"] if r["label"] == p["reference"]), None)
                refs_psnr[DATASET_TITLES[ds]] = (r["label"], r["psnr"]["mean"]) if r else None
            figures.sweep_plot(os.path.join(out, "hints_sweep.png"), sweeps, refs_psnr)
            doc.heading("Hints sweep")
            doc.image("hints_sweep.png", "Mean PSNR of levin-hints (from the hints alone) and deepcolor-hints "
                      "(deepcolor bent to them) vs the number of simulated hints (dashed: the automatic reference)")
    else:
        doc.paragraph("Figures were not drawn (--no-figures).")

    _runtime_section(doc, report.get("runtime"), settings, rt)
    if report.get("video"):
        from deepcolor.evaluation.report.video import write_video_section

        write_video_section(doc, report["video"], out)
    if report["failed"]:
        doc.heading("Failures")
        doc.bullets(report["failed"])

    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(doc.to_markdown() + "\n")
    with open(os.path.join(out, "report.html"), "w", encoding="utf-8") as handle:
        handle.write(doc.to_html(out))
    paper = paper_table({ds: part["results"] for ds, part in report["datasets"].items()}, DATASET_TITLES)
    with open(os.path.join(out, "report.tex"), "w", encoding="utf-8") as handle:
        handle.write(paper.to_latex(caption="Colorization results (" + "; ".join(
            f"{DATASET_TITLES[ds]}: {len(part['records'])} images" for ds, part in report["datasets"].items())
            + "), made by deepcolor report"))
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(_json_report(report, selections), handle, indent=2, default=_json_default)
    log(f"report: wrote {os.path.join(out, 'report.md')}, report.html and report.tex")


def _runtime_section(doc, runtime, settings, rt):
    doc.heading("Run time")
    if runtime is None:
        doc.paragraph("Not measured (--no-runtime).")
        return
    if runtime.get("status") != "ok":
        doc.paragraph(f"Not available: {runtime.get('reason')}.")
        return
    doc.paragraph(f"Median seconds of `Colorizer.colorize` on square gray images ({os.path.basename(runtime['source'])} "
                  f"resized) after one warm-up call; model `{runtime['model']}`, refinement {runtime['refine']}; "
                  f"{runtime['machine']}. The paper: MATLAB on an Intel Xeon 2.30 GHz CPU (its Table II).")
    doc.table(runtime_table(runtime, {s: (rt.PAPER.get(s), rt.DESHPANDE.get(s)) for s in set(rt.PAPER) | set(rt.DESHPANDE)}))
    slopes = rt.paper_slopes()
    fit = runtime.get("fit")
    doc.paragraph("Scaling exponent (least-squares slope of log seconds vs log pixel count; 1 = linear in pixels): "
                  f"this implementation {num(fit['slope']) if fit else '-'}, the paper {num(slopes['paper'])}, "
                  f"Deshpande et al. {num(slopes['deshpande'])}.")
    if settings.figures:
        from deepcolor.evaluation.report import figures

        figures.runtime_plot(os.path.join(settings.output, "runtime.png"), runtime["measurements"],
                             {"Deep Colorization (paper)": rt.PAPER, "Deshpande et al. 2015": rt.DESHPANDE}, fit)
        doc.image("runtime.png", "Seconds per image vs pixel count, log-log (the paper's Table II)")


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    return str(obj)


def _json_report(report, selections):
    out = {k: v for k, v in report.items() if k != "datasets"}
    out["datasets"] = {}
    for ds, part in report["datasets"].items():
        out["datasets"][ds] = {
            "n_images": len(part["records"]),
            "reference": part["reference"],
            "sweep": part.get("sweep"),
            "sweeps": part.get("sweeps"),
            "selection": selections.get(ds),
            "methods": [{k: v for k, v in r.items() if k in ("label", "method", "options", "status", "reason", "run_dir", "same_as",
                                                            "psnr", "versus", "summary")} for r in part["results"]],
        }
    return out
