"""``deepcolor train``: adaptive image clustering + one network per cluster -> a model directory."""

import os
import shutil
import sys

from deepcolor.commands.common import CommandError, add_command_parser, add_scheduler_argument

#: ``deepcolor train``'s data when none is given: 2488 + 1035 reference images.
DEFAULT_DATASETS = ("siftflow:train", "sun:extra")

EPILOG = """\
examples:
  deepcolor train --data ~/datasets -o models/mine --jobs 2
  deepcolor train --dataset siftflow:train --max-images 200 --clusters 4 -o /tmp/quick
  deepcolor train -o models/mine --resume        # continue a killed run
  deepcolor train --dataset folder:~/photos -o models/photos
  deepcolor train --scheduler local:2 -o models/mine                      # on a Dask LocalCluster
  deepcolor train --scheduler tcp://head:8786 --cache /shared/cache -o /shared/models/mine
  deepcolor train --parser stanford8 -o models/st8         # another shipped scene parser (N classes: D = 81 + N)
  deepcolor train --parser runs/parser -o models/mine      # a train-parser output folder
  deepcolor train --parser stanford8 siftflow33 -o models/both   # two parsers side by side
  deepcolor train --dataset siftflow:train sun:extra general:train -o models/general
  deepcolor train --context --alexnet 256 --alexnet-layers 4,5,6,7 --deep-net vgg16+inception -o models/vi

The default data are siftflow:train (2488 images) + sun:extra (1035). Features of each
image are cached (--cache, default $DEEPCOLOR_CACHE or ~/.cache/deepcolor), so a second run
with the same feature settings skips extraction. Every trained cluster is checkpointed in
MODEL_DIR/checkpoints: after a kill, --resume redoes nothing that finished (a cluster
above --stream-rows keeps its network's state after each epoch, and goes on at the next).
"""


def register(subparsers):
    from deepcolor.core.settings import ColorizeSettings, FeatureSettings, TrainSettings, add_arguments

    p = add_command_parser(
        subparsers, "train", EPILOG,
        help="train a colorization model (adaptive clustering, one network per cluster)",
        description=(
            "Train a Deep Colorization model: features at sampled pixels of every reference "
            "image, adaptive image clustering on gist (paper, Algorithm 3), one network per "
            "cluster. Writes a portable model directory (JSON + safetensors + the scene parser)."
        ),
    )
    p.add_argument("--data", metavar="ROOT", help="data root holding siftflow/, sun/ (default: $DEEPCOLOR_DATA)")
    p.add_argument("--dataset", nargs="+", metavar="NAME:SPLIT", default=list(DEFAULT_DATASETS),
                   help="training data: siftflow:train, sun:extra, sun:test, stanford:train, folder:PATH "
                        f"(default: {' '.join(DEFAULT_DATASETS)})")
    p.add_argument("--folder", metavar="DIR", help="with --dataset folder: the folder of color images "
                                                   "(the same as --dataset folder:DIR)")
    p.add_argument("-o", "--output", metavar="MODEL_DIR", default="deepcolor-model",
                   help="model directory to write (default: ./deepcolor-model)")
    training = p.add_argument_group("adaptive clustering and networks")
    add_arguments(training, TrainSettings)
    add_arguments(training, FeatureSettings)
    p.add_argument("--parser", metavar="NAME|DIR", nargs="+",
                   help="scene parser: a shipped one by name (siftflow33: the paper's 33 SIFT Flow classes; "
                        "stanford8: Stanford Background's 8) or a train-parser folder (default: the default "
                        "model's parser); copied into the model. Several: their class probabilities side by "
                        "side as one semantic feature (N = the sum)")
    stored = p.add_argument_group("colorization settings stored in the model (a --resume may change them)")
    add_arguments(stored, ColorizeSettings)
    p.add_argument("--max-images", type=int, metavar="N", help="use only N images, spread evenly over the lists (quick runs)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default: 1)")
    add_scheduler_argument(p)
    p.add_argument("--cache", metavar="DIR", help="cache folder; features go in DIR/features "
                                                  "(default: $DEEPCOLOR_CACHE or ~/.cache/deepcolor)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="torch device (default: cuda when available)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true", help="continue the interrupted run in MODEL_DIR")
    state.add_argument("--force", action="store_true", help="discard an existing run in MODEL_DIR and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_command)


def parse_dataset(spec, root):
    """Records of one ``NAME:SPLIT`` spec, with names prefixed by the dataset."""
    import dataclasses

    from deepcolor.data import load_dataset

    name, _, split = spec.partition(":")
    if name == "folder":
        if not split:
            raise ValueError("--dataset folder:PATH needs a path")
        records = load_dataset("folder", folder=os.path.expanduser(split))
        prefix = f"folder:{os.path.basename(os.path.normpath(split))}"
    else:
        if name not in ("siftflow", "sun", "stanford", "general"):
            raise ValueError(f"--dataset {spec!r}: unknown dataset {name!r} (siftflow, sun, stanford, general, folder)")
        if not split:
            raise ValueError(f"--dataset {spec!r}: give NAME:SPLIT, e.g. siftflow:train")
        if root is None:
            from deepcolor.data import resolve_data_root

            root = resolve_data_root(None)
        records = load_dataset(name, root, split)
        prefix = name
    return [dataclasses.replace(r, name=f"{prefix}/{r.name}") for r in records]


def spread(records, n):
    """``n`` records spread evenly over the list (deterministic)."""
    if n is None or n >= len(records):
        return records
    if n < 1:
        raise ValueError(f"--max-images must be positive, got {n}")
    step = len(records) / n
    return [records[int(i * step)] for i in range(n)]


def run_command(args):
    from deepcolor.core.settings import ColorizeSettings, FeatureSettings, TrainSettings, from_arguments
    from deepcolor.data import resolve_data_root
    from deepcolor.pipeline import train_model

    training = from_arguments(TrainSettings, args)
    features = from_arguments(FeatureSettings, args)
    colorization = from_arguments(ColorizeSettings, args)
    if args.jobs < 1:
        raise CommandError(f"--jobs must be >= 1, got {args.jobs}")
    if args.folder:
        if "folder" not in args.dataset:
            raise CommandError("--folder goes with --dataset folder (or give --dataset folder:DIR)")
        args.dataset = [f"folder:{args.folder}" if s == "folder" else s for s in args.dataset]
    for spec in args.dataset:
        name, _, split = spec.partition(":")
        if name not in ("siftflow", "sun", "stanford", "general", "folder"):
            raise ValueError(f"--dataset {spec!r}: unknown dataset {name!r} (siftflow, sun, stanford, general, "
                             "folder)")
        if not split:
            raise ValueError(f"--dataset {spec!r}: give NAME:SPLIT, e.g. siftflow:train, or folder:PATH "
                             "(or --dataset folder --folder PATH)")
    needs_root = any(not s.startswith("folder:") for s in args.dataset)
    root = resolve_data_root(args.data) if needs_root else None
    lists = {}
    records = []
    for spec in args.dataset:
        recs = parse_dataset(spec, root)
        lists[spec] = len(recs)
        records += recs
    records = spread(records, args.max_images)
    model_dir = os.path.abspath(args.output)
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise CommandError(f"{model_dir} exists and is not a folder")
    if args.force and os.path.isdir(model_dir):
        for sub in ("checkpoints", "networks", "parser"):
            shutil.rmtree(os.path.join(model_dir, sub), ignore_errors=True)
        for f in ("model.json", "manifest.json"):
            if os.path.exists(os.path.join(model_dir, f)):
                os.remove(os.path.join(model_dir, f))
    elif not args.resume and os.path.isfile(os.path.join(model_dir, "model.json")) and not os.path.isdir(
            os.path.join(model_dir, "checkpoints")):
        raise CommandError(f"{model_dir} already holds a model: use --force to replace it or another -o")

    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    print(f"training on {len(records)} images ({', '.join(f'{k} {v}' for k, v in lists.items())}) -> {model_dir}",
          file=sys.stderr)
    command = getattr(args, "command_line", None)
    from deepcolor.core.parallel import scheduler_session

    with scheduler_session(args.scheduler, args.jobs) as session:
        if args.scheduler:
            log(f"parallel stages on {session.description}")
        summary = train_model(records, model_dir, training, features, colorization, parser=args.parser,
                              cache=args.cache, jobs=session.jobs, resume=args.resume, device=args.device,
                              progress=not args.quiet, log=log, command=command, data_lists=lists)
    manifest = summary["manifest"]
    peak = manifest["peak_rss_mb"]
    print(f"\nmodel written to {model_dir} in {manifest['training_seconds_this_run'] / 60:.1f} min "
          f"(features {summary['features_seconds'] / 60:.1f} min); peak RSS main {peak['main']:.0f} MB, "
          f"largest worker {peak['largest_worker']:.0f} MB")
    print(f"{'layer':>5} {'images':>7} {'clusters':>8} {'left (>= %g dB)' % training.min_psnr:>16} {'mean PSNR':>10}")
    for layer in summary["layers"]:
        mean = "not judged" if layer["mean_psnr"] is None else f"{layer['mean_psnr']:.2f}"
        print(f"{layer['layer']:>5} {layer['images']:>7} {layer['clusters']:>8} {layer['removed']:>16} {mean:>10}")
    if summary["failed"]:
        print(f"skipped {len(summary['failed'])} unreadable image(s):", file=sys.stderr)
        for _, message in summary["failed"]:
            print(f"  {message}", file=sys.stderr)
    return 0
