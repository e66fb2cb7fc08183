"""Orchestration of ``deepcolor report``: run (or reuse) one benchmark run folder per
dataset and method, then compute the statistics and write ``report.md``, ``report.html``
(figures inline), ``report.json`` and the figures.

Run folders (``RUNS/<dataset>/<method key>/``) are ordinary ``deepcolor benchmark`` output
folders (``run.json``, ``per_image.csv``, ``summary.json``) made by the benchmark command's
own helpers: a folder whose ``run.json`` equals the wanted settings is reused as it is,
a partial one is resumed, one with other settings is re-run from scratch. A hint method
at ``k`` hints lives in ``<method>/hints_<k>/``, the layout of ``--hints-sweep``, so the
main table's ``levin-hints`` rows and a sweep share their runs.

Methods are given as ``NAME`` or ``NAME:KEY=VALUE[:KEY=VALUE...]``: the options are passed
to the method's factory through the harness's options dict (``deepcolor benchmark`` has no
flag for ``refine``), e.g. ``deepcolor:refine=jbf`` or ``levin-hints:hints=100``.
"""

import dataclasses
import datetime
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import traceback

import numpy as np

from deepcolor.report import stats
from deepcolor.report.document import Document
from deepcolor.report.tables import category_table, main_table, num, runtime_table, sweep_table

#: ``--methods default``: gray, the model and its ablations, the baselines.
DEFAULT_METHODS = (
    "gray",
    "deepcolor",
    "deepcolor-single",
    "deepcolor-nosemantic",
    "deepcolor-norefine",
    "deepcolor-noblend",
    "deepcolor-paper",
    "deepcolor:refine=jbf",
    "deepcolor:refine=dt",
    "welsh-auto",
    "reinhard-auto",
    "levin-hints:hints=10",
    "levin-hints:hints=100",
)
DEFAULT_DATASETS = ("siftflow", "sun")
#: The split each dataset is evaluated on.
SPLITS = {"siftflow": "test", "sun": "test", "stanford": "val", "folder": "test"}
DATASET_TITLES = {"siftflow": "SIFT Flow", "sun": "SUN", "stanford": "Stanford Background", "folder": "folder"}
#: Options a method spec may set, with their parsers.
OPTION_TYPES = {"refine": str, "hints": int, "hint_size": int, "seed": int, "samples": int}
#: Benchmark defaults (``deepcolor benchmark``), so run folders match the command's.
BENCH_DEFAULTS = {"hints": 10, "hint_size": 3, "seed": 0}

PROTOCOL = ("8-bit RGB PSNR over the three channels (peak 255), each image at its native size, "
            "the input being the release's 8-bit luminance (rgb2gray) of the ground truth; "
            "SSIM, raw-accuracy AuC (ab threshold 0..150) and colorfulness as in deepcolor.metrics. "
            "Mean, std and the confidence interval use the finite PSNRs (a prediction identical to the "
            "ground truth has infinite PSNR), the median all of them.")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ReportError(ValueError):
    """A user error in the report's arguments (exit status 2 on the command line)."""


# --------------------------------------------------------------------------- method specs


@dataclasses.dataclass
class Entry:
    """One row of the main table: a registered method with options, or a predictions folder."""

    label: str
    method: str = None  # registry name; None for predictions
    options: dict = dataclasses.field(default_factory=dict)
    predictions: dict = None  # {dataset: folder}
    key: str = ""  # run folder, relative to RUNS/<dataset>/


def parse_method(text):
    """``NAME[:KEY=VALUE...]`` -> :class:`Entry` (name checked against the registry)."""
    from deepcolor.methods import get_method

    parts = [p.strip() for p in text.split(":")]
    name, options = parts[0], {}
    if not name:
        raise ReportError(f"empty method name in {text!r}")
    spec = get_method(name)  # KeyError lists the known methods
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not value.strip():
            raise ReportError(f"method option {part!r} in {text!r}: expected KEY=VALUE")
        if key not in OPTION_TYPES:
            raise ReportError(f"method option {key!r} in {text!r}: known options are {', '.join(OPTION_TYPES)}")
        try:
            options[key] = OPTION_TYPES[key](value.strip())
        except ValueError:
            raise ReportError(f"method option {part!r} in {text!r}: {key} must be an integer") from None
    if "refine" in options:
        from deepcolor.refine import REFINE_METHODS

        if options["refine"] not in REFINE_METHODS:
            raise ReportError(f"{text!r}: unknown refinement {options['refine']!r}; choose one of {', '.join(REFINE_METHODS)}")
    if "hints" in options and not spec.accepts_hints:
        raise ReportError(f"{text!r}: method {name!r} takes no hints")
    if "hints" in options and options["hints"] < 0:
        raise ReportError(f"{text!r}: hints must be >= 0")
    label = name if not options else f"{name} (" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
    return Entry(label=label, method=spec.name, options=options, key=_run_key(spec, options))


def _run_key(spec, options):
    rest = {k: v for k, v in options.items() if k != "hints"}
    base = spec.name + "".join(f"_{k}-{v}" for k, v in sorted(rest.items()))
    if spec.accepts_hints:
        return os.path.join(base, f"hints_{options.get('hints', BENCH_DEFAULTS['hints'])}")
    return base


def parse_methods(text):
    """Comma-separated method specs; ``default`` expands to :data:`DEFAULT_METHODS`."""
    items = [t.strip() for t in (text or "default").split(",") if t.strip()]
    if not items:
        raise ReportError("--methods is empty")
    entries, labels = [], set()
    for item in items:
        for spec in (DEFAULT_METHODS if item == "default" else (item,)):
            entry = parse_method(spec)
            if entry.label not in labels:
                labels.add(entry.label)
                entries.append(entry)
    return entries


def parse_predictions(values, datasets, method_labels=()):
    """``NAME=DIR`` or ``NAME@DATASET=DIR`` arguments -> list of :class:`Entry`.

    An unqualified ``DIR`` is used for every dataset, as ``DIR/<dataset>/`` when that
    sub-folder exists, else ``DIR`` itself.
    """
    entries = {}
    for value in values or ():
        left, sep, folder = value.partition("=")
        name, at, dataset = left.partition("@")
        name, dataset, folder = name.strip(), dataset.strip(), folder.strip()
        if not sep or not name or not folder:
            raise ReportError(f"--predictions expects NAME=DIR or NAME@DATASET=DIR, got {value!r}")
        if not _NAME.match(name):
            raise ReportError(f"--predictions {value!r}: NAME may hold letters, digits and _ . + - only")
        if at and dataset not in datasets:
            raise ReportError(f"--predictions {value!r}: dataset {dataset!r} is not among --datasets ({', '.join(datasets)})")
        if name in method_labels:
            raise ReportError(f"--predictions {value!r}: NAME {name!r} is already a method of the report")
        folder = os.path.expanduser(folder)
        if not os.path.isdir(folder):
            raise ReportError(f"--predictions {value!r}: {folder}: predictions folder not found")
        entry = entries.setdefault(name, Entry(label=name, predictions={}, key=f"predictions_{name}"))
        targets = [dataset] if at else datasets
        for ds in targets:
            if ds in entry.predictions and at:
                raise ReportError(f"--predictions: {name}@{ds} is given twice")
            sub = os.path.join(folder, ds)
            entry.predictions[ds] = sub if not at and os.path.isdir(sub) else folder
    return list(entries.values())


# --------------------------------------------------------------------------- run folders


def _fingerprint(paths):
    digest = hashlib.sha1()
    for path in sorted(paths):
        st = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8"))
    return digest.hexdigest()[:16]


def _run_state(outdir, config):
    from deepcolor.benchmark import PARTIAL

    def has(name):
        return os.path.exists(os.path.join(outdir, name))

    results = has("summary.json") or has(PARTIAL) or has("per_image.csv")
    if not has("run.json"):
        return ("foreign", []) if results else ("empty", [])
    try:
        with open(os.path.join(outdir, "run.json"), encoding="utf-8") as handle:
            old = json.load(handle)
    except (OSError, ValueError):
        return ("foreign", [])
    if old != config:
        return ("changed", sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k)))
    if has(PARTIAL):
        return ("partial", [])
    if has("summary.json") and has("per_image.csv"):
        return ("complete", [])
    return ("empty", [])


def ensure_run(outdir, config, options, records, method, predictions=None, *, jobs=1, quiet=False, log=print):
    """Reuse, resume or (re)run one benchmark run folder; returns ``(summary, rows)``.

    ``rows`` are read back from ``per_image.csv`` (:func:`deepcolor.benchmark.read_rows`).
    """
    from deepcolor import benchmark as bm

    state, changed = _run_state(outdir, config)
    if state != "complete":
        if state == "changed":
            log(f"report: {outdir}: settings changed ({', '.join(changed)}): running again")
        elif state == "foreign":
            log(f"report: {outdir}: results without matching run.json: running again")
        elif state == "partial":
            log(f"report: {outdir}: resuming a partial run")
        force = state in ("changed", "foreign")
        bm.prepare_outdir(outdir, config, resume=state == "partial", force=force)
        try:
            bm.run_into(outdir, records, method, options, dataset=config["dataset"], split=config["split"],
                        jobs=jobs, predictions=predictions, resume=state == "partial", quiet=quiet)
        except BaseException:
            _drop_empty_partial(outdir)
            raise
    with open(os.path.join(outdir, "summary.json"), encoding="utf-8") as handle:
        summary = json.load(handle)
    return summary, bm.read_rows(os.path.join(outdir, "per_image.csv"))


def _drop_empty_partial(outdir):
    """After a failed start (e.g. a model that is not there), leave no empty 'partial' run."""
    from deepcolor.benchmark import PARTIAL

    partial = os.path.join(outdir, PARTIAL)
    try:
        with open(partial, encoding="utf-8") as handle:
            lines = [line for line in handle if line.strip()]
    except OSError:
        return
    if len(lines) <= 1:
        os.remove(partial)
        run_json = os.path.join(outdir, "run.json")
        if os.path.exists(run_json) and not os.path.exists(os.path.join(outdir, "summary.json")):
            os.remove(run_json)
        try:
            os.rmdir(outdir)  # only when now empty
        except OSError:
            pass


def ensure_sweep(outdir, config, options, records, method, counts, *, jobs=1, quiet=False, log=print):
    """A ``--hints-sweep`` folder: ``hints_<k>/`` per count (reused/resumed like
    :func:`ensure_run`) and ``hints_sweep.csv``; returns the sweep's summaries."""
    from deepcolor import benchmark as bm

    config = {**config, "hints_sweep": ",".join(str(k) for k in counts)}
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "run.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    summaries = []
    for k in counts:
        sub = os.path.join(outdir, f"hints_{k}")
        opts = {**options, "hints": k, "_sweep": True}
        summary, _ = ensure_run(sub, {**config, "hints": k, "hints_sweep": None}, opts, records, method,
                                jobs=jobs, quiet=quiet, log=log)
        summary.setdefault("hints", k)
        summaries.append(summary)
    bm.write_sweep(outdir, summaries, dataset=config["dataset"], split=config["split"], method=method)
    return summaries


# --------------------------------------------------------------------------- settings


@dataclasses.dataclass
class Settings:
    """Everything ``deepcolor report`` was asked for."""

    output: str
    data: str = None
    datasets: tuple = DEFAULT_DATASETS
    folder: str = None
    methods: str = "default"
    predictions: tuple = ()
    limit: int = None
    jobs: int = 1
    runs: str = None
    model: str = None
    cache_dir: str = None
    reference: str = "deepcolor"
    seed: int = 0
    resamples: int = stats.N_RESAMPLES
    sweep: str = None
    runtime: bool = True
    runtime_sizes: str = "256,512,1024,2048"
    runtime_repeats: int = 3
    runtime_budget: float = 300.0
    figures: bool = True
    n_grid: int = 6
    n_extremes: int = 5
    quiet: bool = False
    command: str = ""


def _int_list(text, what):
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ReportError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise ReportError(f"{what} is empty")
    return values


def _records(settings, dataset, root):
    from data import load_dataset

    records = load_dataset(dataset, root, SPLITS[dataset], folder=settings.folder)
    if settings.limit is not None:
        records = records[: settings.limit]
    if not records:
        raise ReportError(f"dataset {dataset!r}: no images")
    return records


def _base_config(settings, dataset):
    return {"dataset": dataset, "split": SPLITS[dataset], "folder": settings.folder if dataset == "folder" else None,
            "method": None, "predictions": None, "limit": settings.limit, "model": settings.model,
            "hints": BENCH_DEFAULTS["hints"], "hint_size": BENCH_DEFAULTS["hint_size"], "hints_sweep": None,
            "seed": settings.seed}


def _base_options(settings, root):
    return {"data_root": root, "model": settings.model, "hints": BENCH_DEFAULTS["hints"],
            "hint_size": BENCH_DEFAULTS["hint_size"], "seed": settings.seed, "cache_dir": settings.cache_dir,
            "jobs": settings.jobs, "quiet": settings.quiet}


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
    :class:`deepcolor.benchmark.PredictionsError`) for user errors, before any long run.
    """
    from data import resolve_data_root
    from deepcolor.benchmark import PredictionsError, match_predictions

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
        from deepcolor.report.figures import require_matplotlib

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
                    config = _entry_config(entry, base, entry.predictions[ds], _fingerprint(files.values()))
                    summary, rows = ensure_run(run_dir, config, options, records[ds], config["method"], files,
                                               jobs=settings.jobs, quiet=settings.quiet, log=log)
                    result["predictions"] = files
                else:
                    config = _entry_config(entry, base)
                    opts = {**options, **entry.options}
                    if entry.label == reference_label:
                        opts["save_images_dir"] = os.path.join(run_dir, "images")
                    log(f"report: {DATASET_TITLES[ds]}: {entry.label}")
                    summary, rows = ensure_run(run_dir, config, opts, records[ds], entry.method,
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
        sweep_rows = None
        if sweep:  # explicit: run it even when levin-hints is not a row of the table
            sweep_rows = _run_sweep(settings, ds, records[ds], base, options, runs, sweep, log, report)
        report["datasets"][ds] = {"records": records[ds], "results": results, "sweep": sweep_rows}

    _add_statistics(report, settings)
    report["runtime"] = _runtime(settings, sizes, records, runs, log) if settings.runtime else None
    write_report(report, settings, log)
    return report


def _model_refine(model):
    """The refinement the model applies by default (``refine`` of its model.json), or None."""
    from deepcolor.pipeline import DEFAULT_MODEL_DIR
    from deepcolor.refine import DEFAULT_REFINE

    path = os.path.join(model or DEFAULT_MODEL_DIR, "model.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("refine") or DEFAULT_REFINE
    except (OSError, ValueError):
        return None


def _same_run(entry, results, model_refine):
    """The result of ``deepcolor`` when ``entry`` is deepcolor with only the model's own refinement."""
    if entry.method != "deepcolor" or set(entry.options) != {"refine"} or entry.options["refine"] != model_refine:
        return None
    return next((r for r in results if r["method"] == "deepcolor" and not r["options"] and r["status"] == "ok"), None)


def _reference_label(text):
    """``--reference``: a row label, or a method spec such as ``levin-hints:hints=10``."""
    try:
        return parse_method(text).label
    except (KeyError, ReportError):
        return text  # a predictions NAME, or a label as printed


def _reason(exc):
    """One line on why a method could not run."""
    lines = str(exc).strip().strip("'\"").splitlines()
    first = lines[0] if lines else ""
    if isinstance(exc, (FileNotFoundError, ValueError, KeyError)) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _run_sweep(settings, ds, records, base, options, runs, counts, log, report):
    entry = parse_method("levin-hints")
    outdir = os.path.join(runs, ds, os.path.dirname(entry.key))
    log(f"report: {DATASET_TITLES[ds]}: levin-hints sweep {','.join(map(str, counts))}")
    try:
        summaries = ensure_sweep(outdir, _entry_config(entry, base), options, records, "levin-hints", counts,
                                 jobs=settings.jobs, quiet=settings.quiet, log=log)
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the report goes on
        report["failed"].append(f"levin-hints sweep on {ds}: {_reason(exc)}")
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
    from deepcolor.report import runtime as rt

    first = next(iter(records.values()))
    source = first[0].path if first else None
    model = settings.model
    from deepcolor.pipeline import DEFAULT_MODEL_DIR

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


# --------------------------------------------------------------------------- images for the grids


class _Images:
    """The predictions of one result for a few images: the run's saved images, the predictions
    folder, or recolorized with the method's factory (built once)."""

    def __init__(self, result, records):
        self.result = result
        self.records = {r.name: r for r in records}
        self._predict = None
        self._memo = {}

    def __call__(self, name):
        if name not in self._memo:
            self._memo[name] = self._load(name)
        return self._memo[name]

    def _load(self, name):
        from deepcolor.color import rgb2gray
        from deepcolor.io import load_rgb
        from deepcolor.methods import Sample, get_method

        record = self.records[name]
        gt = load_rgb(record.path)
        gray = rgb2gray(gt)
        r = self.result
        saved = os.path.join(r["run_dir"] or "", "images", os.path.splitext(name)[0] + ".png")
        if r.get("predictions"):
            pred = load_rgb(r["predictions"][name])
        elif os.path.exists(saved):
            pred = load_rgb(saved)
        else:
            spec = get_method(r["method"])
            if self._predict is None:
                self._predict = spec.factory({k: v for k, v in r["run_options"].items() if k != "save_images_dir"})
            index = list(self.records).index(name)
            pred = np.asarray(self._predict(Sample(name, gray, gt if spec.uses_ground_truth else None, record.category, index)))
        return gt, gray, pred


def _grid_items(result, records, names, gray_psnr):
    from deepcolor.metrics import psnr

    images = result.setdefault("_images", _Images(result, records))
    items = []
    for name in names:
        gt, gray, pred = images(name)
        items.append({"name": name, "gt": gt, "gray": gray, "pred": pred, "psnr_pred": psnr(gt, pred),
                      "psnr_gray": gray_psnr(gt, gray)})
    return items


def _gray_psnr(gt, gray):
    from deepcolor.color import gray_to_rgb
    from deepcolor.metrics import psnr

    return psnr(gt, gray_to_rgb(gray))


def _selections(ref, n_grid, n_extremes, seed):
    rows = [row for row in ref["rows"] if not math.isnan(row["psnr"])]
    names = sorted(row["image"] for row in rows)
    rng = np.random.default_rng(seed)
    grid = sorted(rng.choice(names, size=min(n_grid, len(names)), replace=False).tolist()) if names else []
    ranked = sorted(rows, key=lambda row: (row["psnr"], row["image"]))
    worst = [row["image"] for row in ranked[:n_extremes]]
    best = [row["image"] for row in ranked[::-1][:n_extremes]]
    return {"grid": grid, "worst": worst, "best": best}


# --------------------------------------------------------------------------- writing


def _git_commit():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_report(report, settings, log=print):
    """Figures, ``report.md``, ``report.html`` and ``report.json`` into ``settings.output``."""
    from deepcolor.report import runtime as rt

    out = settings.output
    doc = Document("Deep Colorization: benchmark report")
    commit = _git_commit()
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
            from data.datasets import SIFTFLOW_CATEGORIES

            doc.heading(f"{title}: mean PSNR per category", 3)
            doc.table(category_table(part["results"], SIFTFLOW_CATEGORIES if ds == "siftflow" else None))
        if part.get("sweep"):
            doc.heading(f"{title}: levin-hints, PSNR vs number of hints", 3)
            ref_result = next((r for r in part["results"] if r["label"] == ref), None)
            doc.table(sweep_table(part["sweep"], ref_result["psnr"]["mean"] if ref_result else None))
        ok = {r["label"]: r for r in part["results"] if r["status"] == "ok"}
        if ref:
            series = {ref: [row["psnr"] for row in ok[ref]["rows"]]}
            if "deepcolor-single" in ok and "deepcolor-single" != ref:
                series["deepcolor-single"] = [row["psnr"] for row in ok["deepcolor-single"]["rows"]]
            hist_panels.append((title, series))
            selections[ds] = _selections(ok[ref], settings.n_grid, settings.n_extremes, settings.seed)

    if settings.figures:
        from deepcolor.report import figures

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
        sweeps = {DATASET_TITLES[ds]: p["sweep"] for ds, p in report["datasets"].items() if p.get("sweep")}
        if sweeps:
            refs_psnr = {}
            for ds, p in report["datasets"].items():
                r = next((r for r in p["results"] if r["label"] == p["reference"]), None)
                refs_psnr[DATASET_TITLES[ds]] = (r["label"], r["psnr"]["mean"]) if r else None
            figures.sweep_plot(os.path.join(out, "hints_sweep.png"), sweeps, refs_psnr)
            doc.heading("Hints sweep")
            doc.image("hints_sweep.png", "Mean PSNR of levin-hints vs the number of simulated hints (dashed: the automatic reference)")
    else:
        doc.paragraph("Figures were not drawn (--no-figures).")

    _runtime_section(doc, report.get("runtime"), settings, rt)
    if report["failed"]:
        doc.heading("Failures")
        doc.bullets(report["failed"])

    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(doc.to_markdown() + "\n")
    with open(os.path.join(out, "report.html"), "w", encoding="utf-8") as handle:
        handle.write(doc.to_html(out))
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(_json_report(report, selections), handle, indent=2, default=_json_default)
    log(f"report: wrote {os.path.join(out, 'report.md')} and report.html")


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
        from deepcolor.report import figures

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
            "selection": selections.get(ds),
            "methods": [{k: v for k, v in r.items() if k in ("label", "method", "options", "status", "reason", "run_dir", "same_as",
                                                            "psnr", "versus", "summary")} for r in part["results"]],
        }
    return out


__all__ = ["Settings", "build_report", "ReportError", "parse_method", "parse_methods", "parse_predictions", "ensure_run",
           "ensure_sweep", "DEFAULT_METHODS", "PROTOCOL"]
