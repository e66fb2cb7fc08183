"""Copy a trained parser into the package (``deepcolor/models/default/parser/``) with its manifest.

The default model must then be retrained with it (``deepcolor train``), since its
networks take the parser's probabilities as input.

    python -m deepcolor.pipeline.ship_parser RUN_DIR --eval EVAL_DIR [--which best|final] [--data ROOT]

``RUN_DIR`` is a ``train-parser -o`` folder; ``EVAL_DIR`` an ``eval-parser -o`` folder of
the same weights (its ``summary.json`` gives the metrics). Writes ``parser.safetensors``,
``config.json`` and ``manifest.json`` (training commands, data lists with sha256, git
commit, training time, history, metrics, file hashes).
"""

import argparse
import datetime
import hashlib
import json
import os
import shutil

from deepcolor.core.provenance import git_commit, sha256_file as sha256
from deepcolor.features.scene_parser.weights import CONFIG_NAME, SHIPPED_PARSER_DIR, WEIGHTS_NAME


def data_lists(root):
    """The Stanford Background lists used, with sha256 of each list and of its images + labels."""
    from deepcolor import data
    root = data.resolve_data_root(root)
    base = os.path.join(root, "stanford_background")
    lists = {}
    for split in ("train", "val"):
        records = data.stanford_background(root, split)
        content = hashlib.sha256()
        for rec in records:
            content.update(rec.name.encode() + b"\0" + sha256(rec.path).encode() + sha256(rec.label_path).encode())
        lists[split] = {
            "list": f"stanford_background/{split}.txt",
            "list_sha256": sha256(os.path.join(base, f"{split}.txt")),
            "images": len(records),
            "images_and_labels_sha256": content.hexdigest(),
        }
    lists["classes"] = {"file": "stanford_background/classes.txt", "sha256": sha256(os.path.join(base, "classes.txt"))}
    return lists


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="train-parser output folder")
    ap.add_argument("--eval", required=True, help="eval-parser output folder for these weights")
    ap.add_argument("--which", choices=("best", "final"), default="final")
    ap.add_argument("--data", default=None, help="data root, to hash the data lists (default $DEEPCOLOR_DATA)")
    ap.add_argument("--dest", default=SHIPPED_PARSER_DIR)
    ap.add_argument("--train-commit", default=None, help="git commit the training run started from (default HEAD)")
    ap.add_argument("--note", default=None)
    args = ap.parse_args(argv)

    prefix = "best." if args.which == "best" else ""
    weights = os.path.join(args.run, prefix + WEIGHTS_NAME)
    config_path = os.path.join(args.run, prefix + CONFIG_NAME)
    with open(os.path.join(args.run, "history.json"), encoding="utf-8") as handle:
        history = json.load(handle)
    with open(os.path.join(args.eval, "summary.json"), encoding="utf-8") as handle:
        summary = json.load(handle)
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)

    os.makedirs(args.dest, exist_ok=True)
    shutil.copyfile(weights, os.path.join(args.dest, WEIGHTS_NAME))
    with open(os.path.join(args.dest, CONFIG_NAME), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
        handle.write("\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    last = history["history"][-1]
    manifest = {
        "what": "grayscale scene parser for the semantic feature (deepcolor.features.scene_parser / features.semantic)",
        "weights": {"file": WEIGHTS_NAME, "sha256": sha256(os.path.join(args.dest, WEIGHTS_NAME)), "format": "safetensors"},
        "config": CONFIG_NAME,
        "checkpoint": args.which,
        "trained_epochs": config.get("trained_epochs"),
        "training_commands": history.get("commands") or [history.get("command")],
        "hyperparameters": history.get("hparams"),
        "training_minutes": last.get("elapsed_minutes"),
        "training_machine": "2 CPU cores shared with other jobs, torch CPU, 1 intra-op thread",
        "git_commit_of_training_code": args.train_commit or git_commit(repo),
        "git_commit_at_shipping": git_commit(repo),
        "data": data_lists(args.data),
        "metrics": {
            "split": f"{summary.get('dataset')} {summary.get('split')} ({summary.get('images')} images), grayscale input",
            "pixel_accuracy": summary["pixel_accuracy"],
            "mean_iou": summary["mean_iou"],
            "mean_class_accuracy": summary["mean_class_accuracy"],
            "per_class_iou": summary["per_class_iou"],
            "eval_command": "deepcolor eval-parser --data $DEEPCOLOR_DATA --dataset stanford --split val -o OUTDIR",
        },
        "history": history["history"],
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if args.note:
        manifest["note"] = args.note
    with open(os.path.join(args.dest, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    size = os.path.getsize(os.path.join(args.dest, WEIGHTS_NAME))
    print(f"shipped {weights} ({size / 1e6:.2f} MB) to {args.dest}: pixel accuracy {summary['pixel_accuracy']:.4f}, mIoU {summary['mean_iou']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
