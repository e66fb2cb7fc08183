"""Copy a trained parser into the package (``deepcolor/models/parsers/<name>/``) with its manifest.

A model trained with it (``deepcolor train --parser <name>``) holds its own copy, since its
networks take the parser's probabilities as input. A model shipped with the package refers
to the shipped parser instead (``--link``; :mod:`deepcolor.features.scene_parser.reference`).

    python -m deepcolor.pipeline.ship_parser RUN_DIR --eval EVAL_DIR [--which best|final] [--data ROOT]
    python -m deepcolor.pipeline.ship_parser --link MODEL_DIR [MODEL_DIR ...]

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
import sys

from deepcolor.core.provenance import git_commit, sha256_file as sha256
from deepcolor.core.paths import PARSERS_DIR
from deepcolor.features.scene_parser.weights import CONFIG_NAME, WEIGHTS_NAME


def data_lists(root, dataset="stanford"):
    """The lists a parser of ``dataset`` learned from, with sha256 of each list and of its images + labels.

    ``stanford``: Stanford Background's ``train`` and ``val`` lists. ``siftflow``: SIFT
    Flow's ``train.txt`` split as ``train-parser`` splits it (``train``: all but every
    10th image; ``val``: those held out); the test list is never used for training.
    """
    from deepcolor import data
    root = data.resolve_data_root(root)
    if dataset == "stanford":
        base, list_file, classes = "stanford_background", "{split}.txt", "stanford_background/classes.txt"
    elif dataset == "siftflow":
        base, list_file, classes = "siftflow", "train.txt", "siftflow/classes.txt"
    else:
        raise ValueError(f"unknown parser dataset {dataset!r}")
    lists = {}
    for split in ("train", "val"):
        records = data.parser_dataset(dataset, root, split)
        content = hashlib.sha256()
        for rec in records:
            content.update(rec.name.encode() + b"\0" + sha256(rec.path).encode() + sha256(rec.label_path).encode())
        listed = f"{base}/{list_file.format(split=split)}"
        lists[split] = {
            "list": listed + ("" if dataset == "stanford" else
                              f" ({'all but' if split == 'train' else 'only'} every "
                              f"{data.PARSER_VALIDATION_EVERY}th image)"),
            "list_sha256": sha256(os.path.join(root, listed)),
            "images": len(records),
            "images_and_labels_sha256": content.hexdigest(),
        }
    lists["classes"] = {"file": classes, "sha256": sha256(os.path.join(root, classes))}
    return lists


def link_shipped_parsers(model_dir, parsers_dir=PARSERS_DIR):
    """Replace each copy of a shipped parser inside ``model_dir`` by a reference to it.

    A parser folder of the model (its ``parser/``, or each part of a combination) whose
    weights and config are byte for byte a shipped parser's loses its files that equal the
    shipped folder's (the weights, the config, an identical manifest) and gets a
    ``shipped.json`` reference; ``model.json`` then records the new files' hashes. Folders
    that match no shipped parser stay as they are.

    Returns
    -------
    list of (folder, shipped parser name) : what was linked
    """
    from deepcolor.features.scene_parser.combined import is_combination, read_combination
    from deepcolor.features.scene_parser.reference import is_reference, write_reference
    from deepcolor.pipeline.model_dir import add_hashes, read_model_json

    config = read_model_json(model_dir)
    root = os.path.join(model_dir, config.get("parser") or "parser")
    folders = read_combination(root) if is_combination(root) else [root]
    by_hashes = {}
    for name in sorted(os.listdir(parsers_dir)):
        shipped = os.path.join(parsers_dir, name)
        if not all(os.path.isfile(os.path.join(shipped, f)) for f in (WEIGHTS_NAME, CONFIG_NAME)):
            continue
        by_hashes[tuple(sha256(os.path.join(shipped, f)) for f in (WEIGHTS_NAME, CONFIG_NAME))] = name
    linked = []
    for folder in folders:
        whole = all(os.path.isfile(os.path.join(folder, f)) for f in (WEIGHTS_NAME, CONFIG_NAME))
        if is_reference(folder) or not whole:
            continue
        name = by_hashes.get(tuple(sha256(os.path.join(folder, f)) for f in (WEIGHTS_NAME, CONFIG_NAME)))
        if name is None:
            continue
        shipped = os.path.join(parsers_dir, name)
        write_reference(folder, name, parsers_dir)
        for file in sorted(os.listdir(folder)):
            twin = os.path.join(shipped, file)
            if os.path.isfile(twin) and sha256(os.path.join(folder, file)) == sha256(twin):
                os.remove(os.path.join(folder, file))
        linked.append((folder, name))
    if linked:
        add_hashes(model_dir)
    return linked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", help="train-parser output folder")
    ap.add_argument("--link", nargs="+", metavar="MODEL_DIR",
                    help="instead: replace the copies of shipped parsers inside these model folders by references")
    ap.add_argument("--eval", help="eval-parser output folder for these weights (required with RUN_DIR)")
    ap.add_argument("--which", choices=("best", "final"), default="final")
    ap.add_argument("--data", default=None, help="data root, to hash the data lists (default $DEEPCOLOR_DATA)")
    ap.add_argument("--dest", default=None,
                    help="folder to write (default: deepcolor/models/parsers/<dataset><classes>, e.g. siftflow33)")
    ap.add_argument("--machine", default="2 CPU cores shared with other jobs, torch CPU",
                    help="where it was trained, for the manifest")
    ap.add_argument("--train-commit", default=None, help="git commit the training run started from (default HEAD)")
    ap.add_argument("--note", default=None)
    args = ap.parse_args(argv)
    if args.link:
        for model_dir in args.link:
            try:
                linked = link_shipped_parsers(model_dir)
            except (OSError, ValueError) as exc:  # not a model, or a damaged one: named in the message
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(f"{model_dir}: " + (", ".join(f"{os.path.relpath(f, model_dir)} -> {n}" for f, n in linked)
                                      or "no copy of a shipped parser"))
        return 0
    if not args.run or not args.eval:
        ap.error("give RUN_DIR and --eval EVAL_DIR, or --link MODEL_DIR")

    prefix = "best." if args.which == "best" else ""
    weights = os.path.join(args.run, prefix + WEIGHTS_NAME)
    config_path = os.path.join(args.run, prefix + CONFIG_NAME)
    with open(os.path.join(args.run, "history.json"), encoding="utf-8") as handle:
        history = json.load(handle)
    with open(os.path.join(args.eval, "summary.json"), encoding="utf-8") as handle:
        summary = json.load(handle)
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)

    dataset = config.get("dataset", "stanford")
    if args.dest is None:
        args.dest = os.path.join(PARSERS_DIR, f"{dataset}{int(config['num_classes'])}")
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
        "training_machine": args.machine,
        "git_commit_of_training_code": args.train_commit or git_commit(repo),
        "git_commit_at_shipping": git_commit(repo),
        "data": data_lists(args.data, dataset),
        "metrics": {
            "split": f"{summary.get('dataset')} {summary.get('split')} ({summary.get('images')} images), grayscale input",
            "pixel_accuracy": summary["pixel_accuracy"],
            "mean_iou": summary["mean_iou"],
            "mean_class_accuracy": summary["mean_class_accuracy"],
            "per_class_iou": summary["per_class_iou"],
            "eval_command": f"deepcolor eval-parser --data $DEEPCOLOR_DATA --dataset {summary.get('dataset')} "
                            f"--split {summary.get('split')} --model PARSER_DIR -o OUTDIR",
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
