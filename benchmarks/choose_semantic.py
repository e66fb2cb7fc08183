"""Choose the default model's semantic feature (scene parser) on held-out reference images.

The test lists must not pick it, so, as for the colorization settings
(``validate_settings.py``), every 8th SIFT Flow train image and every 4th SUN extra image
are held out, one model per candidate parser is trained on the rest with the default
settings, and each model colorizes the held-out images.

Usage::

    python benchmarks/validate_settings.py split --data ROOT -o VALROOT
    python benchmarks/choose_semantic.py --data VALROOT -o VALMODELS \\
        --candidate stanford8=deepcolor/models/parsers/stanford8 \\
        --candidate siftflow33=deepcolor/models/parsers/siftflow33 \\
        [--candidate both=deepcolor/models/parsers/stanford8,deepcolor/models/parsers/siftflow33] [--jobs 2]

Each candidate ``NAME=DIR[,DIR...]`` (a shipped parser's name works too; several: combined side by side,
``deepcolor train --parser A B``) is trained into ``VALMODELS/NAME`` by ``deepcolor train
--resume`` (an interrupted run continues), then benchmarked on VALROOT's held-out
``siftflow`` and ``sun`` lists (``deepcolor benchmark``, resumable); the script prints the
mean PSNR of each candidate on each held-out set and their mean, with the training time.
"""

import argparse
import json
import os
import subprocess
import sys


def run(command):
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command)
    if done.returncode:
        sys.exit(done.returncode)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="VALROOT written by validate_settings.py split")
    p.add_argument("-o", "--output", required=True, help="folder of the candidate models")
    p.add_argument("--candidate", action="append", required=True, metavar="NAME=DIR[,DIR]")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--clusters", type=int, default=24)
    args = p.parse_args(argv)
    deepcolor = [sys.executable, "-m", "deepcolor"]
    rows = []
    for spec in args.candidate:
        name, _, folders = spec.partition("=")
        parsers = [f for f in folders.split(",") if f]
        if not name or not parsers:
            p.error(f"--candidate {spec!r}: give NAME=DIR[,DIR]")
        model = os.path.join(args.output, name)
        if not os.path.isfile(os.path.join(model, "manifest.json")):
            run(deepcolor + ["train", "--clusters", str(args.clusters), "--data", args.data, "-o", model,
                             "--jobs", str(args.jobs), "--resume", "--quiet", "--parser", *parsers])
        scores = {}
        for dataset in ("siftflow", "sun"):
            out = os.path.join(model, f"heldout-{dataset}")
            if not os.path.isfile(os.path.join(out, "summary.json")):
                run(deepcolor + ["benchmark", "--data", args.data, "--dataset", dataset, "--split", "test",
                                 "--method", "deepcolor", "--model", model, "-o", out, "--jobs", str(args.jobs),
                                 "--resume", "--quiet"])
            with open(os.path.join(out, "summary.json"), encoding="utf-8") as handle:
                scores[dataset] = json.load(handle)
        with open(os.path.join(model, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
        rows.append((name, scores, manifest))
    print(f"\nheld-out reference images (VALROOT {args.data}); mean PSNR (dB)")
    print(f"{'candidate':<14} {'SIFT Flow':>10} {'SUN':>8} {'mean':>8} {'N':>4} {'train min':>10}")
    for name, scores, manifest in rows:
        sf, sun = scores["siftflow"]["psnr_mean"], scores["sun"]["psnr_mean"]
        dims = json.load(open(os.path.join(args.output, name, "model.json")))["features"]["semantic"]
        print(f"{name:<14} {sf:10.3f} {sun:8.3f} {(sf + sun) / 2:8.3f} {dims:>4} "
              f"{manifest['training_seconds_this_run'] / 60:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
