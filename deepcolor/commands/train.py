"""``deepcolor train``: adaptive image clustering + one network per cluster -> a model directory."""

import os
import shutil
import sys

from deepcolor.commands.common import add_command_parser

EPILOG = """\
examples:
  deepcolor train --data ~/datasets -o models/mine --jobs 2
  deepcolor train --dataset siftflow:train --max-images 200 --clusters 4 -o /tmp/quick
  deepcolor train -o models/mine --resume        # continue a killed run
  deepcolor train --dataset folder:~/photos -o models/photos

The default data are siftflow:train (2488 images) + sun:extra (1035). Features of each
image are cached (--cache, default $DEEPCOLOR_CACHE or ~/.cache/deepcolor), so a second run
with the same feature settings skips extraction. Every trained cluster is checkpointed in
MODEL_DIR/checkpoints: after a kill, --resume redoes nothing that finished.
"""


def register(subparsers):
    from deepcolor.refine import REFINE_METHODS

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
    p.add_argument("--dataset", nargs="+", metavar="NAME:SPLIT", default=["siftflow:train", "sun:extra"],
                   help="training data: siftflow:train, sun:extra, sun:test, stanford:train, folder:PATH "
                        "(default: siftflow:train sun:extra)")
    p.add_argument("-o", "--output", metavar="MODEL_DIR", default="deepcolor-model",
                   help="model directory to write (default: ./deepcolor-model)")
    p.add_argument("--clusters", type=int, default=24, metavar="N0", help="clusters of the top layer (default: 24)")
    p.add_argument("--mu", type=int, default=80,
                   help="images per cluster on lower layers; the clustering stops below mu images (default: 80)")
    p.add_argument("--min-psnr", type=float, default=26.0, metavar="DB",
                   help="an image leaves the clustering when its training PSNR reaches this (default: 26, epsilon = -26 dB)")
    p.add_argument("--max-layers", type=int, default=2, metavar="L",
                   help="cap the number of layers (default: 2; 0 = no cap, Algorithm 3 as written). Below the "
                        "top layer each layer removed under 10%% of its images in our runs, so uncapped "
                        "training runs for dozens of layers")
    p.add_argument("--samples", type=int, default=1000, metavar="N_S",
                   help="pixels sampled per image (default: 1000 = alpha N_w / mu with alpha 10, N_w 8010, mu 80)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs per network (default: 10)")
    p.add_argument("--batch-size", type=int, default=2048, help="minibatch size (default: 2048)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate, cosine-annealed to lr/20 (default: 3e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, k-means and network initialisation (default: 0)")
    p.add_argument("--no-semantic", action="store_true", help="leave out the semantic feature (81-dim input, no parser)")
    p.add_argument("--parser", metavar="DIR", help="scene parser folder (default: the shipped one); copied into the model")
    p.add_argument("--refine", choices=REFINE_METHODS, default=None,
                   help="refinement the model uses by default (default: dt)")
    p.add_argument("--judge-refine", choices=REFINE_METHODS, default="dt",
                   help="refinement applied when judging training images' PSNR (default: dt, as colorized)")
    p.add_argument("--judge-stride", type=int, default=2, metavar="S",
                   help="judge training images with the network run at every S-th row and column, U and V "
                        "interpolated in between; PSNR over the full image (default: 2; 1 = every pixel)")
    p.add_argument("--lookup-k", type=int, default=3, metavar="K", help="nearest gist centres compared by semantics (default: 3)")
    p.add_argument("--lookup-layers", type=int, default=1, metavar="L",
                   help="look up among the clusters of the first L layers (stored in the model; default: 1, the "
                        "top layer; 0 = all layers, the paper's rule)")
    p.add_argument("--blend", type=int, default=3, metavar="N",
                   help="colorize with the average of the N nearest clusters' networks (stored in the model; "
                        "default: 3; 1 = the paper's single cluster)")
    p.add_argument("--predict-stride", type=int, default=2, metavar="S",
                   help="at colorization run the networks on every S-th row and column, U and V interpolated "
                        "in between (stored in the model; default: 2; 1 = every pixel)")
    p.add_argument("--max-images", type=int, metavar="N", help="use only N images, spread evenly over the lists (quick runs)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default: 1)")
    p.add_argument("--cache", metavar="DIR", help="feature cache folder (default: $DEEPCOLOR_CACHE or ~/.cache/deepcolor)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="torch device (default: cuda when available)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true", help="continue the interrupted run in MODEL_DIR")
    state.add_argument("--force", action="store_true", help="discard an existing run in MODEL_DIR and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_command)


def parse_dataset(spec, root):
    """Records of one ``NAME:SPLIT`` spec, with names prefixed by the dataset."""
    import dataclasses

    from data import load_dataset

    name, _, split = spec.partition(":")
    if name == "folder":
        if not split:
            raise ValueError("--dataset folder:PATH needs a path")
        records = load_dataset("folder", folder=os.path.expanduser(split))
        prefix = f"folder:{os.path.basename(os.path.normpath(split))}"
    else:
        if name not in ("siftflow", "sun", "stanford"):
            raise ValueError(f"--dataset {spec!r}: unknown dataset {name!r} (siftflow, sun, stanford, folder)")
        if not split:
            raise ValueError(f"--dataset {spec!r}: give NAME:SPLIT, e.g. siftflow:train")
        if root is None:
            from data import resolve_data_root

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


def _git_commit():
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=os.path.dirname(os.path.abspath(__file__)),
                              capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_command(args):
    import datetime
    import hashlib
    import json
    import resource
    import time

    from data import resolve_data_root
    from deepcolor.cli import CommandError
    from deepcolor.pipeline import DEFAULT_REFINE, TrainSettings, train_model

    for flag, value in (("--clusters", args.clusters), ("--mu", args.mu), ("--samples", args.samples),
                        ("--epochs", args.epochs), ("--batch-size", args.batch_size), ("--jobs", args.jobs),
                        ("--lookup-k", args.lookup_k), ("--judge-stride", args.judge_stride), ("--blend", args.blend),
                        ("--predict-stride", args.predict_stride)):
        if value < 1:
            raise ValueError(f"{flag} must be positive, got {value}")
    for flag, value in (("--max-layers", args.max_layers), ("--lookup-layers", args.lookup_layers)):
        if value < 0:
            raise ValueError(f"{flag} must be >= 0, got {value}")
    for spec in args.dataset:
        name, _, split = spec.partition(":")
        if name not in ("siftflow", "sun", "stanford", "folder"):
            raise ValueError(f"--dataset {spec!r}: unknown dataset {name!r} (siftflow, sun, stanford, folder)")
        if not split:
            raise ValueError(f"--dataset {spec!r}: give NAME:SPLIT, e.g. siftflow:train, or folder:PATH")
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

    settings = TrainSettings(
        clusters=args.clusters, mu=args.mu, min_psnr=args.min_psnr, max_layers=args.max_layers,
        samples=args.samples, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        semantic=not args.no_semantic, judge_refine=args.judge_refine, judge_stride=args.judge_stride, refine=args.refine or DEFAULT_REFINE,
        lookup_k=args.lookup_k, lookup_layers=args.lookup_layers, lookup_blend=args.blend, predict_stride=args.predict_stride)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    print(f"training on {len(records)} images ({', '.join(f'{k} {v}' for k, v in lists.items())}) -> {model_dir}",
          file=sys.stderr)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.time()
    summary = train_model(records, model_dir, settings, parser=args.parser, cache=args.cache, jobs=args.jobs,
                          resume=args.resume, device=args.device, progress=not args.quiet, log=log)
    seconds = time.time() - t0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    names = [r.name for r in records]
    manifest = {
        "command": "deepcolor " + " ".join(sys.argv[1:]) if sys.argv and "deepcolor" in os.path.basename(sys.argv[0])
        else "deepcolor train (API)",
        "data": {"lists": lists, "max_images": args.max_images, "images_used": summary["images"],
                 "images_sha1": hashlib.sha1("\n".join(names).encode()).hexdigest(),
                 "skipped": [m for _, m in summary["failed"]]},
        "settings": settings.to_json(),
        "git_commit": _git_commit(),
        "started_utc": started.isoformat(timespec="seconds"),
        "training_seconds_this_run": round(seconds, 1),
        "peak_rss_mb": {"main": round(peak_self, 1), "largest_worker": round(peak_children, 1)},
        "jobs": args.jobs,
        "metrics": {"layers": summary["layers"],
                    "mean_training_psnr": round(float(
                        sum(sum(c.psnrs) for c in summary["clusters"] if c.layer == 0)
                        / max(1, sum(len(c.psnrs) for c in summary["clusters"] if c.layer == 0))), 3)},
    }
    manifest_file = os.path.join(model_dir, "manifest.json")
    if args.resume:
        manifest["previous_runs"] = _previous_runs(manifest_file)
    with open(manifest_file, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    # summary of the hierarchy
    print(f"\nmodel written to {model_dir} in {seconds / 60:.1f} min "
          f"(features {summary['features_seconds'] / 60:.1f} min); peak RSS main {peak_self:.0f} MB, "
          f"largest worker {peak_children:.0f} MB")
    print(f"{'layer':>5} {'images':>7} {'clusters':>8} {'left (>= %g dB)' % settings.min_psnr:>16} {'mean PSNR':>10}")
    for layer in summary["layers"]:
        print(f"{layer['layer']:>5} {layer['images']:>7} {layer['clusters']:>8} {layer['removed']:>16} "
              f"{layer['mean_psnr']:>10.2f}")
    if summary["failed"]:
        print(f"skipped {len(summary['failed'])} unreadable image(s):", file=sys.stderr)
        for _, message in summary["failed"]:
            print(f"  {message}", file=sys.stderr)
    return 0


def _previous_runs(manifest_file):
    """Earlier finished runs into the same model folder (a resume keeps their record)."""
    import json

    try:
        with open(manifest_file, encoding="utf-8") as handle:
            old = json.load(handle)
    except (OSError, ValueError):
        return []
    keep = ("command", "git_commit", "started_utc", "training_seconds_this_run", "peak_rss_mb")
    return old.get("previous_runs", []) + [{k: old.get(k) for k in keep}]
