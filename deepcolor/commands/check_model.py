"""``deepcolor check-model``: check a model directory for damage (schema, hashes, every file loads)."""

import os
import sys

from deepcolor.commands.common import add_command_parser

EPILOG = """\
examples:
  deepcolor check-model models/mine
  deepcolor check-model                          # the shipped default model
  deepcolor check-model old-model/ --add-hashes  # record the file hashes of a model made before they existed

A model directory records the SHA-256 of each network and parser file in model.json;
'deepcolor colorize' checks each file before it uses it. This command checks them all,
loads every network and the parser, and exits with status 1 when anything is damaged.
"""


def register(subparsers):
    p = add_command_parser(
        subparsers, "check-model", EPILOG,
        help="check a model directory for damaged or missing files",
        description="Check a model directory: model.json's fields, the recorded SHA-256 of every weight file, "
                    "and that every network and the scene parser load.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL_DIR", help="model directory (default: the shipped model)")
    p.add_argument("--add-hashes", action="store_true",
                   help="record the SHA-256 of every weight file in model.json (for models made before deepcolor "
                        "recorded them); refused when the model already records hashes that do not match")
    p.set_defaults(func=run_command)


def run_command(args):
    from deepcolor.core.paths import DEFAULT_MODEL_DIR, resolve_model
    from deepcolor.pipeline.model_dir import add_hashes, check_model, read_model_json

    # a shipped model's name, else the folder as given (a missing one is reported below)
    named = args.model and os.sep not in args.model and not os.path.exists(args.model)
    model_dir = resolve_model(args.model) if named else os.path.abspath(args.model or DEFAULT_MODEL_DIR)
    if args.add_hashes:
        if not os.path.isfile(os.path.join(model_dir, "model.json")):
            read_model_json(model_dir)  # raises, naming the folder
        problems, _ = check_model(model_dir)
        problems = [p for p in problems if "recorded checksum" not in p]  # re-recorded below
        if problems:
            for problem in problems:
                print(f"damaged: {problem}", file=sys.stderr)
            print(f"{model_dir}: not recording hashes over damaged files", file=sys.stderr)
            return 1
        print(f"{model_dir}: recorded the SHA-256 of {add_hashes(model_dir)} files and model.json's checksum")
    problems, notes = check_model(model_dir)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in problems:
        print(f"damaged: {problem}", file=sys.stderr)
    if problems:
        print(f"{model_dir}: {len(problems)} problem(s); re-copy or retrain the model", file=sys.stderr)
        return 1
    print(f"{model_dir}: model is sound")
    return 0
