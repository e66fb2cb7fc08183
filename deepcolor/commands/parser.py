"""``deepcolor train-parser`` and ``deepcolor eval-parser``: the grayscale scene parser."""

import os
import sys

from deepcolor.commands.common import add_command_parser

TRAIN_EPILOG = """\
examples:
  deepcolor train-parser --data ~/datasets -o parsers/stanford --epochs 40 --val-every 5
  deepcolor train-parser --dataset siftflow --data ~/datasets -o parsers/siftflow33   # siftflow/labels/*.png
  deepcolor train-parser --dataset siftflow --data ~/SiftFlowDataset -o parsers/sf   # the original download
  deepcolor train-parser --data ~/datasets -o parsers/stanford --resume   # continue a killed run

The output folder gets checkpoint.pt after every epoch, parser.safetensors + config.json
(latest weights) and best.parser.safetensors (best validation mean IoU). Give a finished
parser to 'deepcolor train --parser DIR' to train a colorization model on it.
"""

EVAL_EPILOG = """\
examples:
  deepcolor eval-parser --data ~/datasets --dataset stanford --split val -o eval/shipped
  deepcolor eval-parser --data ~/datasets --model parsers/stanford -o eval/mine

output: OUTDIR/summary.json (pixel accuracy, mean class accuracy, mean IoU, per-class IoU,
the confusion matrix) and OUTDIR/confusion.png.
"""


def register(subparsers):
    p = add_command_parser(
        subparsers, "train-parser", TRAIN_EPILOG,
        help="train the grayscale scene parser (semantic feature)",
        description=(
            "Train the grayscale scene parser on Stanford Background (8 classes) or the original "
            "SIFT Flow download (33 classes, SemanticLabels/*.mat). Writes a checkpoint after every "
            "epoch into the output folder; --resume continues a killed run."
        ),
    )
    p.add_argument("--data", help="data root (holds stanford_background/; default $DEEPCOLOR_DATA) or the SiftFlowDataset folder")
    p.add_argument("--dataset", choices=("stanford", "siftflow"), default="stanford",
                   help="stanford: 8 classes; siftflow: the original download's 33 classes (default: stanford)")
    p.add_argument("-o", "--output", required=True, help="output folder (checkpoint.pt, parser.safetensors, config.json, best.*)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 30; on --resume, the run's own)")
    p.add_argument("--resume", action="store_true", help="continue the run in the output folder from its last checkpoint")
    p.add_argument("--batch-size", type=int, default=8, help="crops per minibatch (default: 8)")
    p.add_argument("--crop", type=int, nargs=2, default=(96, 128), metavar=("H", "W"), help="training crop at working resolution")
    p.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate, warm-up then cosine (default: 3e-3)")
    p.add_argument("--class-weights", choices=("none", "sqrt", "inverse"), default="none", help="loss class balancing")
    p.add_argument("--input-scale", type=float, default=0.5, help="working resolution relative to the image (default 0.5)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default torch's)")
    p.add_argument("--time-limit", type=float, default=None, metavar="MIN", help="stop after the epoch that passes MIN minutes")
    p.add_argument("--val-every", type=int, default=1, metavar="N", help="validate every N epochs and after the last (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, crops and batches (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_train)

    e = add_command_parser(
        subparsers, "eval-parser", EVAL_EPILOG,
        help="evaluate a scene parser: pixel accuracy, IoU, confusion matrix",
        description="Evaluate a scene parser on grayscale versions of a labelled split; writes OUTDIR/summary.json and OUTDIR/confusion.png.",
    )
    e.add_argument("--data", help="data root (default $DEEPCOLOR_DATA) or the SiftFlowDataset folder")
    e.add_argument("--dataset", choices=("stanford", "siftflow"), default="stanford",
                   help="labelled dataset (default: stanford)")
    e.add_argument("--split", default="val", help="stanford: train, val or all; siftflow: train, val (every "
                                                  "10th training image), test or all (default: val)")
    e.add_argument("--model", default=None, help="parser folder or .safetensors file (default: the shipped parser)")
    e.add_argument("-o", "--output", required=True, help="output folder")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=run_eval)


def run_train(args):
    from deepcolor.pipeline.parser_training import train

    if args.epochs is not None and args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    if args.input_scale <= 0 or args.input_scale > 4:
        raise ValueError("--input-scale must be in (0, 4]")
    command = args.command_line
    train(
        args.dataset,
        args.data,
        args.output,
        epochs=args.epochs,
        batch_size=args.batch_size,
        crop=tuple(args.crop),
        lr=args.lr,
        weighting=args.class_weights,
        input_scale=args.input_scale,
        resume=args.resume,
        seed=args.seed,
        val_every=args.val_every,
        threads=args.threads,
        time_limit=args.time_limit * 60 if args.time_limit else None,
        progress=not args.quiet,
        command=command,
    )
    return 0


def eval_records(dataset, root, split):
    from deepcolor import data

    return data.parser_dataset(dataset, data.resolve_data_root(root), split)


def run_eval(args):
    from deepcolor.features.scene_parser import load_parser
    from deepcolor.evaluation.parser_eval import evaluate_records, write_report

    records = eval_records(args.dataset, args.data, args.split)
    if not records:
        raise ValueError(f"no images in split {args.split!r}")
    parser = load_parser(args.model)
    conf, seconds = evaluate_records(parser, records, progress=not args.quiet)
    summary = write_report(
        args.output,
        conf,
        parser.class_names,
        extra={
            "dataset": args.dataset,
            "split": args.split,
            "images": len(records),
            "model": os.path.abspath(args.model) if args.model else "shipped (deepcolor/models/default/parser)",
            "input": "grayscale (release luminance)",
            "seconds": round(seconds, 2),
        },
    )
    print(f"{len(records)} images: pixel accuracy {summary['pixel_accuracy']:.4f}, mean class accuracy "
          f"{summary['mean_class_accuracy']:.4f}, mean IoU {summary['mean_iou']:.4f}")
    for name, iou in summary["per_class_iou"].items():
        print(f"  {name:>12s}  IoU {'n/a' if iou is None else f'{iou:.4f}'}")
    print(f"wrote {os.path.join(args.output, 'summary.json')} and confusion.png")
    return 0
