"""Train the ablation models that ``deepcolor-single``, ``deepcolor-nosemantic`` and
``deepcolor-paper`` benchmark (see :mod:`deepcolor.evaluation.methods_deepcolor`).

Usage::

    python benchmarks/train_ablations.py --data ROOT [--only single nosemantic paper]
        [--out DIR] [--jobs 2] [--max-images N] [--resume]

Each model goes to ``DIR/<name>`` (default: the ablation dir the methods read:
``$DEEPCOLOR_ABLATIONS`` or ``~/.cache/deepcolor/ablations``), trained by ``deepcolor train``
with the default data and settings plus the ablation's arguments
(:data:`deepcolor.evaluation.methods_deepcolor.ABLATIONS`). Features are shared with the default
model through the feature cache, so only ``nosemantic`` extracts features again.
Then, for example::

    deepcolor benchmark --dataset siftflow --method deepcolor-single -o runs/single
"""

import argparse
import os
import sys


def main(argv=None):
    from deepcolor.cli import main as cli
    from deepcolor.evaluation.methods_deepcolor import ABLATIONS, ablation_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="data root (default: $DEEPCOLOR_DATA)")
    parser.add_argument("--only", nargs="+", choices=sorted(ABLATIONS), default=sorted(ABLATIONS))
    parser.add_argument("--out", help="folder of the ablation models (default: the methods' ablation dir)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-images", type=int, help="quick runs on fewer images")
    parser.add_argument("--parser", help="scene parser name or folder for every ablation (default: the default "
                        "model's; the paper ablation uses siftflow33, the paper's 33 classes)")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs")
    args = parser.parse_args(argv)

    out = os.path.abspath(args.out or ablation_dir())
    status = 0
    for name in args.only:
        argv = ["train", "-o", os.path.join(out, name), "--jobs", str(args.jobs)] + ABLATIONS[name]
        if args.data:
            argv += ["--data", args.data]
        if args.max_images:
            argv += ["--max-images", str(args.max_images)]
        if args.parser:
            argv += ["--parser", args.parser]
        if args.resume:
            argv.append("--resume")
        print(f"== {name}: deepcolor {' '.join(argv)}", flush=True)
        rc = cli(argv)
        if rc:
            print(f"== {name}: failed with status {rc}", file=sys.stderr)
            status = rc
    return status


if __name__ == "__main__":
    sys.exit(main())
