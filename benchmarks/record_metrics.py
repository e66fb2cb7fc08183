"""Copy benchmark results into a model's ``manifest.json``, so its metrics are never typed by hand.

Usage::

    python benchmarks/record_metrics.py MODEL_DIR --run siftflow_test=runs/dc-siftflow \
        --run sun_test=runs/dc-sun [--validation val.json] [--speed speed.txt] [--note KEY=TEXT]

Each ``--run NAME=DIR`` is a ``deepcolor benchmark`` output folder; its ``summary.json``
and ``run.json`` become ``manifest["metrics"]["test"][NAME]`` with the command that
reproduces it. ``--validation FILE`` stores a JSON document as
``manifest["validation"]``; ``--speed FILE`` stores the text printed by
``benchmarks/bench_colorize.py`` as ``manifest["speed"]``. Other manifest entries are kept.
"""

import argparse
import json
import os
import sys

SUMMARY_KEYS = ("n_images", "psnr_mean", "psnr_median", "psnr_std", "ssim_mean", "auc_mean", "colorfulness_mean",
                "seconds_median")


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{path}: cannot read: {exc}")


def run_entry(folder, model_name=None):
    """The summary of one benchmark folder and the command that made it (``--model``: the
    run's model folder, or ``model_name``, the name the model ships under)."""
    summary = read_json(os.path.join(folder, "summary.json"))
    run = read_json(os.path.join(folder, "run.json"))
    command = f"deepcolor benchmark --data ROOT --dataset {run['dataset']} --split {run['split']} --method {run['method']}"
    if run.get("model"):
        command += f" --model {model_name or run['model']}"
    if run.get("limit"):
        command += f" --limit {run['limit']}"
    command += " -o OUT"
    entry = {k: (round(summary[k], 4) if isinstance(summary.get(k), float) else summary.get(k)) for k in SUMMARY_KEYS}
    entry.update({"dataset": run["dataset"], "split": run["split"], "method": run["method"], "command": command})
    return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model directory holding manifest.json")
    parser.add_argument("--run", action="append", default=[], metavar="NAME=DIR", help="a benchmark output folder")
    parser.add_argument("--validation", nargs="+", metavar="FILE",
                        help="JSON files of benchmarks/validate_settings.py score")
    parser.add_argument("--speed", metavar="FILE", help="output of benchmarks/bench_colorize.py")
    parser.add_argument("--model-name", help="the name the model ships under, written in the commands of its runs")
    parser.add_argument("--note", action="append", default=[], metavar="KEY=TEXT", help="a note to keep")
    args = parser.parse_args(argv)

    path = os.path.join(args.model, "manifest.json")
    manifest = read_json(path)
    tests = manifest.setdefault("metrics", {}).setdefault("test", {})
    for item in args.run:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise SystemExit(f"--run {item!r}: expected NAME=DIR")
        tests[name] = run_entry(folder, args.model_name)
    for item in args.note:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--note {item!r}: expected KEY=TEXT")
        manifest.setdefault("notes", {})[key] = text
    if args.validation:
        manifest["validation"] = [read_json(f) for f in args.validation]
    if args.speed:
        with open(args.speed, encoding="utf-8") as handle:
            manifest["speed"] = {"command": "python benchmarks/bench_colorize.py --repeat 5",
                                 "output": handle.read().strip().splitlines()}
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    os.replace(tmp, path)
    print(f"{path}: {len(args.run)} run(s) recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
