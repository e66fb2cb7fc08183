"""Orchestration of ``deepcolor report``: run (or reuse) one benchmark run folder per
dataset and method, compute the statistics, then write the report
(:mod:`deepcolor.evaluation.report.write`).

Run folders (``RUNS/<dataset>/<method key>/``) are ordinary ``deepcolor benchmark`` output
folders made by :mod:`deepcolor.evaluation.runs`, the module the benchmark command uses:
a folder whose ``run.json`` equals the wanted settings is reused as it is, a partial one
is resumed, one with other settings is re-run from scratch.
"""

import dataclasses
import json
import os
import sys
import traceback

from deepcolor.core.paths import DEFAULT_MODEL_DIR
from deepcolor.core.settings import ColorizeSettings
from deepcolor.evaluation import runs as run_folders
from deepcolor.evaluation.report import stats
from deepcolor.evaluation.report.specs import (DATASET_TITLES, SPLITS, ReportError, _int_list,
                                               _reference_label, parse_method, parse_methods, parse_predictions)
from deepcolor.evaluation.report.write import PROTOCOL, write_report

def _records(settings, dataset, root):
    from deepcolor.data import load_dataset

    records = load_dataset(dataset, root, SPLITS[dataset], folder=settings.folder)
    if settings.limit is not None:
        records = records[: settings.limit]
    if not records:
        raise ReportError(f"dataset {dataset!r}: no images")
    return records


def _base_config(settings, dataset):
    return run_folders.run_config(dataset, SPLITS[dataset], None, folder=settings.folder, limit=settings.limit,
                                  model=settings.model, seed=settings.seed, metrics=settings.metrics)


def _base_options(settings, root):
    return run_folders.run_options(data_root=root, model=settings.model, seed=settings.seed,
                                   cache_dir=settings.cache_dir, jobs=settings.jobs, quiet=settings.quiet,
                                   metrics=settings.metrics)


def _entry_config(entry, base, predictions_dir=None, fingerprint=None):
    config = dict(base)
    if entry.method is None:
        config["method"] = f"predictions:{os.path.basename(os.path.normpath(predictions_dir))}"
        config["predictions"] = predictions_dir
        config["predictions_fingerprint"] = fingerprint
        return config
    config["method"] = entry.method
    for key, value in entry.options.items():
        config[key] = value  # refine / samples are extra keys; hints, hint_size, seed replace the defaults
    return config


# --------------------------------------------------------------------------- build


def _log_to(settings):
    def log(message):
        print(message, file=sys.stderr if settings.quiet else sys.stdout, flush=True)

    return log


def build_report(settings):
    """Run everything and write the report; returns the report dict (also ``report.json``).

    Raises :class:`ReportError` (or ``FileNotFoundError``, ``KeyError``,
    :class:`deepcolor.evaluation.benchmark.PredictionsError`) for user errors, before any long run.
    """
    from deepcolor.data import resolve_data_root
    from deepcolor.evaluation.benchmark import PredictionsError, match_predictions

    log = _log_to(settings)
    datasets = list(dict.fromkeys(d.strip() for d in settings.datasets if d.strip()))
    if not datasets:
        raise ReportError("--datasets is empty")
    for ds in datasets:
        if ds not in SPLITS:
            raise ReportError(f"unknown dataset {ds!r}; choose among {', '.join(SPLITS)}")
    if "folder" in datasets and not settings.folder:
        raise ReportError("dataset 'folder' needs --folder DIR")
    if settings.limit is not None and settings.limit < 1:
        raise ReportError(f"--limit must be positive, got {settings.limit}")
    if settings.jobs < 1:
        raise ReportError(f"--jobs must be >= 1, got {settings.jobs}")
    if settings.resamples < 1:
        raise ReportError(f"--resamples must be >= 1, got {settings.resamples}")
    sweep = _int_list(settings.sweep, "--sweep") if settings.sweep else None
    if sweep and min(sweep) < 0:
        raise ReportError(f"--sweep needs non-negative counts, got {settings.sweep!r}")
    sizes = _int_list(settings.runtime_sizes, "--runtime-sizes") if settings.runtime else None
    if settings.figures:
        from deepcolor.evaluation.report.figures import require_matplotlib

        require_matplotlib()  # fail now, not after hours of runs
    entries = parse_methods(settings.methods)
    entries += parse_predictions(settings.predictions, datasets, {e.label for e in entries})
    # the folder dataset needs no data root; methods that do (reference sets) are then "not available"
    root = resolve_data_root(settings.data, required=any(ds != "folder" for ds in datasets))

    records = {ds: _records(settings, ds, root) for ds in datasets}
    matched = {}
    for entry in entries:
        for ds, folder in (entry.predictions or {}).items():
            try:
                matched[(entry.label, ds)] = match_predictions(folder, records[ds])
            except PredictionsError as exc:
                raise PredictionsError(f"--predictions {entry.label} ({DATASET_TITLES[ds]}): {exc}") from None

    out = settings.output
    runs = settings.runs or os.path.join(out, "runs")
    os.makedirs(out, exist_ok=True)
    reference_label = _reference_label(settings.reference)
    settings = dataclasses.replace(settings, reference=reference_label)
    report = {"settings": {k: v for k, v in dataclasses.asdict(settings).items()}, "datasets": {},
              "protocol": PROTOCOL, "runs": os.path.abspath(runs), "failed": []}

    for ds in datasets:
        base = _base_config(settings, ds)
        options = _base_options(settings, root)
        results = []
        model_refine = _model_refine(settings.model)
        for entry in entries:
            result = {"label": entry.label, "method": entry.method, "options": entry.options, "status": "ok",
                      "reason": "", "run_dir": None}
            if entry.method is None and ds not in entry.predictions:
                continue  # predictions given for another dataset only
            same = _same_run(entry, results, model_refine)
            if same is not None:
                # e.g. deepcolor:refine=dt when the model refines with dt: the very same colorizations
                results.append({**same, "label": entry.label, "options": entry.options, "same_as": same["label"]})
                log(f"report: {DATASET_TITLES[ds]}: {entry.label} = {same['label']} (the model's refinement is {model_refine})")
                continue
            run_dir = os.path.join(runs, ds, entry.key)
            result["run_dir"] = run_dir
            try:
                if entry.method is None:
                    files = matched[(entry.label, ds)]
                    config = _entry_config(entry, base, entry.predictions[ds], run_folders.fingerprint(files.values()))
                    summary, rows = run_folders.ensure_run(run_dir, config, options, records[ds], config["method"], files,
                                               jobs=settings.jobs, quiet=settings.quiet, log=log)
                    result["predictions"] = files
                else:
                    config = _entry_config(entry, base)
                    opts = {**options, **entry.options}
                    if entry.label == reference_label:
                        opts["save_images_dir"] = os.path.join(run_dir, "images")
                    log(f"report: {DATASET_TITLES[ds]}: {entry.label}")
                    summary, rows = run_folders.ensure_run(run_dir, config, opts, records[ds], entry.method,
                                               jobs=settings.jobs, quiet=settings.quiet, log=log)
                    result["run_options"] = opts
                result["summary"], result["rows"] = summary, rows
            except (FileNotFoundError, ImportError) as exc:
                result.update(status="unavailable", reason=_reason(exc))
                log(f"report: {entry.label} on {ds}: not available: {result['reason']}")
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a broken method must not cost the other methods' results
                result.update(status="failed", reason=_reason(exc))
                log(f"report: {entry.label} on {ds}: FAILED: {result['reason']}")
                traceback.print_exc(file=sys.stderr)
                report["failed"].append(f"{entry.label} on {ds}: {result['reason']}")
            results.append(result)
        sweeps = {}
        if sweep:  # explicit: run it even when the hint methods are not rows of the table
            for method in SWEEP_METHODS:
                sweeps[method] = _run_sweep(settings, ds, records[ds], base, options, runs, sweep, log, report,
                                            method)
        report["datasets"][ds] = {"records": records[ds], "results": results, "sweep": sweeps.get("levin-hints"),
                                  "sweeps": {m: rows for m, rows in sweeps.items() if rows}}

    _add_statistics(report, settings)
    report["runtime"] = _runtime(settings, sizes, records, runs, log) if settings.runtime else None
    if settings.video:
        from deepcolor.evaluation.report.video import run_video_section

        report["video"] = run_video_section(settings, root if settings.video == "davis" else None, runs, log)
    write_report(report, settings, log)
    return report


def _model_refine(model):
    """The refinement the model applies by default (``refine`` of its model.json), or None."""
    path = os.path.join(model or DEFAULT_MODEL_DIR, "model.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("refine") or ColorizeSettings.refine
    except (OSError, ValueError):
        return None


def _same_run(entry, results, model_refine):
    """The result of ``deepcolor`` when ``entry`` is deepcolor with only the model's own refinement."""
    if entry.method != "deepcolor" or set(entry.options) != {"refine"} or entry.options["refine"] != model_refine:
        return None
    return next((r for r in results if r["method"] == "deepcolor" and not r["options"] and r["status"] == "ok"), None)


def _reason(exc):
    """One line on why a method could not run."""
    lines = str(exc).strip().strip("'\"").splitlines()
    first = lines[0] if lines else ""
    if isinstance(exc, (FileNotFoundError, ValueError, KeyError)) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


#: Hint methods of ``--sweep``: Levin et al. 2004 from the hints alone, and deepcolor bent to them.
SWEEP_METHODS = ("levin-hints", "deepcolor-hints")


def _run_sweep(settings, ds, records, base, options, runs, counts, log, report, method="levin-hints"):
    entry = parse_method(method)
    outdir = os.path.join(runs, ds, os.path.dirname(entry.key))
    log(f"report: {DATASET_TITLES[ds]}: {method} sweep {','.join(map(str, counts))}")
    config = {**_entry_config(entry, base), "hints_sweep": ",".join(map(str, counts))}

    def run_one(folder, folder_config, folder_options):
        return run_folders.ensure_run(folder, folder_config, folder_options, records, method,
                                      jobs=settings.jobs, quiet=settings.quiet, log=log)[0]

    try:
        run_folders.record_config(outdir, config)
        summaries = run_folders.run_sweep(outdir, config, options, records, method, counts, run_one)
    except (FileNotFoundError, ImportError) as exc:
        log(f"report: {method} sweep on {ds}: not available: {_reason(exc)}")
        return None
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the report goes on
        report["failed"].append(f"{method} sweep on {ds}: {_reason(exc)}")
        traceback.print_exc(file=sys.stderr)
        return None
    return [{"hints": s.get("hints"), "n_images": s["n_images"], "psnr_mean": s["psnr_mean"],
             "psnr_median": s["psnr_median"], "ssim_mean": s["ssim_mean"], "auc_mean": s["auc_mean"],
             "seconds_median": s["seconds_median"]} for s in summaries]


def _pick_reference(results, wanted):
    ok = [r for r in results if r["status"] == "ok"]
    for r in ok:
        if r["label"] == wanted:
            return r
    others = [r for r in ok if r["label"] != "gray"]
    return (others or ok or [None])[0]


def _add_statistics(report, settings):
    for ds, part in report["datasets"].items():
        results = part["results"]
        ref = _pick_reference(results, settings.reference)
        part["reference"] = ref["label"] if ref else None
        ref_psnr = {row["image"]: row["psnr"] for row in ref["rows"]} if ref else {}
        for r in results:
            if r["status"] != "ok":
                continue
            r["psnr"] = stats.describe([row["psnr"] for row in r["rows"]], n_resamples=settings.resamples, seed=settings.seed)
            r["versus"] = None
            if ref and r is not ref:
                common = [row for row in r["rows"] if row["image"] in ref_psnr]
                a = [row["psnr"] for row in common]
                b = [ref_psnr[row["image"]] for row in common]
                boot = stats.paired_bootstrap(a, b, n_resamples=settings.resamples, seed=settings.seed)
                r["versus"] = {"reference": ref["label"], "n": boot["n"], "mean_diff": boot["mean_diff"],
                               "ci": boot["ci"], "p": boot["p"], "p_wilcoxon": stats.wilcoxon_p(a, b)}


def _runtime(settings, sizes, records, runs, log):
    """Measured (or cached in RUNS/runtime.json when the settings match) run time."""
    from deepcolor.evaluation.report import runtime as rt

    first = next(iter(records.values()))
    source = first[0].path if first else None
    model = settings.model
    model_file = os.path.join(model or DEFAULT_MODEL_DIR, "model.json")
    key = {"model": os.path.abspath(model) if model else None, "sizes": sizes, "repeats": settings.runtime_repeats,
           "budget_s": settings.runtime_budget, "source": source,
           "model_mtime": os.path.getmtime(model_file) if os.path.exists(model_file) else None}
    cache = os.path.join(runs, "runtime.json")
    if os.path.exists(cache):
        try:
            with open(cache, encoding="utf-8") as handle:
                cached = json.load(handle)
            if cached.get("key") == key:
                log("report: run time: reusing " + cache)
                return cached["result"]
        except (OSError, ValueError):
            pass
    log(f"report: run time of Colorizer.colorize at {', '.join(map(str, sizes))} px")
    try:
        result = rt.measure_colorizer(model, sizes=sizes, repeats=settings.runtime_repeats, source=source,
                                      budget_s=settings.runtime_budget, progress=log)
    except (FileNotFoundError, ImportError) as exc:
        log(f"report: run time: not available: {_reason(exc)}")
        return {"status": "unavailable", "reason": _reason(exc)}
    result["status"] = "ok"
    os.makedirs(runs, exist_ok=True)
    with open(cache, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "result": result}, handle, indent=2)
    return result
