"""Benchmark run folders: their configuration (``run.json``), scoring into them, reuse and sweeps.

One run folder is what ``deepcolor benchmark -o OUTDIR`` writes: ``run.json`` (the
settings, :func:`run_config`), ``per_image.csv`` and ``summary.json``, with
``per_image.partial.csv`` while it runs. ``deepcolor benchmark`` and ``deepcolor report``
both make their folders here, so a report reuses a benchmark's folder whose ``run.json``
matches (:func:`ensure_run`). A hints sweep (:func:`run_sweep`) is a folder with one
``hints_<k>/`` run per hint count and ``hints_sweep.csv``.
"""

import csv
import hashlib
import json
import os

from deepcolor.core.settings import HintSettings
from deepcolor.evaluation.benchmark import (DEFAULT_METRICS, PARTIAL, fid_of_run, fields_for, read_rows, run,
                                            summarize, write_rows)


def run_config(dataset, split, method, *, folder=None, predictions=None, limit=None, model=None,
               hints=HintSettings.hints, hint_size=HintSettings.hint_size, hints_sweep=None, seed=0,
               metrics=DEFAULT_METRICS, protocol="native", **extra):
    """The settings of one run folder, as recorded in its ``run.json``.

    ``extra`` holds method options beyond the common ones (``refine``, ``samples``) and,
    for a predictions folder, its ``predictions_fingerprint``. ``metrics`` is recorded
    only when it adds to the default set, and ``protocol`` only when it is not "native", so
    folders of earlier runs stay reusable.
    """
    more = {"metrics": list(metrics)} if tuple(metrics) != tuple(DEFAULT_METRICS) else {}
    if protocol != "native":
        more["protocol"] = protocol
    return {"dataset": dataset, "split": split, "folder": folder if dataset == "folder" else None, "method": method,
            "predictions": predictions, "limit": limit, "model": model, "hints": hints, "hint_size": hint_size,
            "hints_sweep": hints_sweep, "seed": seed, **more, **extra}


def run_options(*, data_root, model=None, hints=HintSettings.hints, hint_size=HintSettings.hint_size, seed=0,
                cache_dir=None, jobs=1, quiet=False, metrics=DEFAULT_METRICS, protocol="native", **extra):
    """The options dict a method's factory receives (:mod:`deepcolor.evaluation.registry`)."""
    return {"data_root": data_root, "model": model, "hints": hints, "hint_size": hint_size, "seed": seed,
            "cache_dir": cache_dir, "jobs": jobs, "quiet": quiet, "metrics": tuple(metrics), "protocol": protocol,
            **extra}


def parse_counts(text, what):
    """``"1,2,5"`` -> ``[1, 2, 5]``: non-negative hint counts of a sweep."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise ValueError(f"{what} needs non-negative counts, got {text!r}")
    return values


RESULT_FILES = ("summary.json", "per_image.csv", PARTIAL, "run.json", "hints_sweep.csv", "per_sequence.csv")
RESULT_FOLDERS = ("images", "fid_features", "strips")


def prepare_outdir(outdir, config, *, resume=False, force=False):
    """Create a run folder and record its settings in ``run.json``.

    Existing results are never replaced unless ``force``; ``resume`` continues them only
    when the recorded settings equal ``config`` (else ``ValueError`` naming the changes).
    """
    config_path = os.path.join(outdir, "run.json")
    has_results = any(os.path.exists(os.path.join(outdir, name)) for name in ("summary.json", PARTIAL,
                                                                               "per_sequence.csv"))
    if has_results and force:
        for name in RESULT_FILES:
            if os.path.exists(os.path.join(outdir, name)):
                os.remove(os.path.join(outdir, name))
        for name in RESULT_FOLDERS:
            if os.path.isdir(os.path.join(outdir, name)):
                import shutil

                shutil.rmtree(os.path.join(outdir, name))
    elif has_results and not resume:
        raise FileExistsError(f"{outdir}: already holds benchmark results; use --resume to continue or --force to replace them")
    elif has_results and resume and os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as handle:
            old = json.load(handle)
        if old != config:
            changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise ValueError(f"{outdir}: --resume with different settings ({', '.join(changed)}); use another -o or --force")
    record_config(outdir, config)


def record_config(outdir, config):
    """Create ``outdir`` and write its ``run.json``."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "run.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)


def run_into(outdir, records, method, options, *, dataset, split, jobs=1, predictions=None,
             resume=False, quiet=False):
    """Score ``records`` into a prepared run folder, reusing rows already scored there.

    Rows are appended to ``per_image.partial.csv`` as they finish, so a killed run loses at
    most the images in flight; at the end ``per_image.csv`` and ``summary.json`` are written
    and the partial file removed. Returns the summary dict.
    """
    partial = os.path.join(outdir, PARTIAL)
    options = {**options, "fid_dir": os.path.join(outdir, "fid_features")}
    done = {}
    if os.path.exists(partial):
        done = {r["image"]: r for r in read_rows(partial)}
    elif resume and os.path.exists(os.path.join(outdir, "per_image.csv")):
        done = {r["image"]: r for r in read_rows(os.path.join(outdir, "per_image.csv"))}
    todo = [r for r in records if r.name not in done]
    if done:
        print(f"resuming: {len(done)} images already scored, {len(todo)} to go")
    rows = list(done.values())

    new_file = not os.path.exists(partial)
    with open(partial, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields_for(options.get("metrics")), extrasaction="ignore")
        if new_file:
            writer.writeheader()
            for row in rows:
                writer.writerow(row)

        def on_row(row):
            if not row.get("error"):
                writer.writerow(row)
                handle.flush()

        rows += run(todo, method, options, jobs=jobs, predictions=predictions, progress=not quiet, on_row=on_row)

    order = {r.name: i for i, r in enumerate(records)}
    rows.sort(key=lambda r: order.get(r["image"], len(order)))
    for r in rows:
        if r.get("error"):
            print(f"warning: skipped {r['error']}")
    extra = {"hints": options.get("hints")} if options.get("_sweep") else {}
    if "fid" in (options.get("metrics") or ()):
        extra.update(fid_of_run(records, rows, options))
    if (options.get("protocol") or "native") != "native":
        extra["image_protocol"] = options["protocol"]
    summary = summarize(rows, dataset=dataset, split=split, method=method, extra=extra or None)
    write_rows(os.path.join(outdir, "per_image.csv"), [r for r in rows if not r.get("error")])
    with open(os.path.join(outdir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    os.remove(partial)
    return summary


SWEEP_KEYS = ("hints", "n_images", "psnr_mean", "psnr_median", "ssim_mean", "auc_mean", "seconds_median")


def write_sweep(outdir, summaries, *, dataset, split, method):
    """``hints_sweep.csv`` (one row per hint count) and the sweep's ``summary.json``."""
    with open(os.path.join(outdir, "hints_sweep.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SWEEP_KEYS)
        for s in summaries:
            writer.writerow([s[k] if isinstance(s[k], int) else f"{s[k]:.4f}" for k in SWEEP_KEYS])
    summary = {"dataset": dataset, "split": split, "method": method,
               "n_images": summaries[0]["n_images"], "hints_sweep": summaries}
    for key in ("psnr_mean", "psnr_median", "ssim_mean", "auc_mean", "seconds_median"):
        summary[key] = summaries[-1][key]
    with open(os.path.join(outdir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)


def run_sweep(outdir, config, options, records, method, counts, run_one):
    """A hints sweep: ``hints_<k>/`` per count, each made by ``run_one(folder, config, options)``
    (which returns its summary), then ``hints_sweep.csv``; returns the summaries."""
    config = {**config, "hints_sweep": ",".join(str(k) for k in counts)}
    summaries = []
    for k in counts:
        sub = os.path.join(outdir, f"hints_{k}")
        summary = run_one(sub, {**config, "hints": k, "hints_sweep": None}, {**options, "hints": k, "_sweep": True})
        summary.setdefault("hints", k)
        summaries.append(summary)
    write_sweep(outdir, summaries, dataset=config["dataset"], split=config["split"], method=method)
    return summaries


def fingerprint(paths):
    """A short hash of files' paths, sizes and modification times (a predictions folder's state)."""
    digest = hashlib.sha1()
    for path in sorted(paths):
        st = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8"))
    return digest.hexdigest()[:16]


def _run_state(outdir, config):
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

    ``rows`` are read back from ``per_image.csv`` (:func:`deepcolor.evaluation.benchmark.read_rows`).
    """
    state, changed = _run_state(outdir, config)
    if state != "complete":
        if state == "changed":
            log(f"report: {outdir}: settings changed ({', '.join(changed)}): running again")
        elif state == "foreign":
            log(f"report: {outdir}: results without matching run.json: running again")
        elif state == "partial":
            log(f"report: {outdir}: resuming a partial run")
        force = state in ("changed", "foreign")
        prepare_outdir(outdir, config, resume=state == "partial", force=force)
        try:
            run_into(outdir, records, method, options, dataset=config["dataset"], split=config["split"],
                        jobs=jobs, predictions=predictions, resume=state == "partial", quiet=quiet)
        except BaseException:
            _drop_empty_partial(outdir)
            raise
    with open(os.path.join(outdir, "summary.json"), encoding="utf-8") as handle:
        summary = json.load(handle)
    return summary, read_rows(os.path.join(outdir, "per_image.csv"))


def _drop_empty_partial(outdir):
    """After a failed start (e.g. a model that is not there), leave no empty 'partial' run."""
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
