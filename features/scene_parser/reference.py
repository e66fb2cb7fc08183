"""A model's scene parser kept as a reference to a parser shipped with the package.

Every model directory holds its parser, since its networks read the parser's probabilities.
A model shipped with the package would then carry its own copy of a parser that the package
already ships (``deepcolor/models/parsers/<name>/``): byte for byte the same 2 MB, once per
model. Such a copy may instead be a folder holding only ``shipped.json``::

    {"format": "deepcolor-parser-reference", "parser": "stanford8",
     "sha256": {"parser.safetensors": "...", "config.json": "..."}}

:func:`resolve_reference` turns the folder into the shipped parser's folder after checking
that its files still have the recorded hashes, so the model colorizes with exactly the
parser it was trained with, or is refused with a message naming the file. Models written by
``deepcolor train`` keep full copies (they stay self-contained when moved to a machine with
another version of the package); ``python -m deepcolor.pipeline.ship_parser --link MODEL``
writes the references of a model that ships with the package.
"""

import json
import os

from deepcolor.core.paths import PARSERS_DIR

REFERENCE_NAME = "shipped.json"
REFERENCE_FORMAT = "deepcolor-parser-reference"

__all__ = ["REFERENCE_NAME", "is_reference", "resolve_reference", "write_reference"]


def is_reference(path):
    """True when ``path`` is a folder holding a reference to a shipped parser."""
    return os.path.isfile(os.path.join(os.fspath(path), REFERENCE_NAME))


def _parser_files():
    from deepcolor.features.scene_parser.weights import CONFIG_NAME, WEIGHTS_NAME

    return (WEIGHTS_NAME, CONFIG_NAME)


def write_reference(dest, shipped, parsers_dir=PARSERS_DIR):
    """Write into the folder ``dest`` a reference to the shipped parser named ``shipped``,
    with the SHA-256 of its files as they are now; returns the reference's path."""
    from deepcolor.core.files import write_text
    from deepcolor.core.provenance import sha256_file

    folder = os.path.join(parsers_dir, shipped)
    hashes = {name: sha256_file(os.path.join(folder, name)) for name in _parser_files()}
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, REFERENCE_NAME)
    write_text(path, json.dumps({"format": REFERENCE_FORMAT, "parser": shipped, "sha256": hashes}, indent=2) + "\n")
    return path


def resolve_reference(path, parsers_dir=PARSERS_DIR):
    """The shipped parser folder that the reference folder ``path`` names, its files checked
    against the recorded hashes; ``path`` itself when it holds no reference.

    Raises
    ------
    ValueError
        ``shipped.json`` is damaged, names no shipped parser, or the shipped parser's files
        differ from those the model recorded (the message names the file).
    """
    if path is None or not is_reference(path):
        return path
    from deepcolor.core.provenance import sha256_file

    reference = os.path.join(os.fspath(path), REFERENCE_NAME)
    try:
        with open(reference, encoding="utf-8") as handle:
            record = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{reference}: not valid JSON ({exc}); the reference to a shipped parser is damaged") \
            from None
    names = _parser_files()
    if (not isinstance(record, dict) or record.get("format") != REFERENCE_FORMAT
            or not isinstance(record.get("parser"), str) or not isinstance(record.get("sha256"), dict)
            or set(record["sha256"]) != set(names)):
        raise ValueError(f"{reference}: not a {REFERENCE_FORMAT!r} record (format, parser, sha256 of "
                         f"{', '.join(names)}); it is damaged")
    name = record["parser"]
    folder = os.path.join(parsers_dir, name)
    if os.sep in name or "/" in name or not os.path.isdir(folder):
        shipped = sorted(os.listdir(parsers_dir)) if os.path.isdir(parsers_dir) else []
        raise ValueError(f"{reference}: names the shipped parser {name!r}, which this installation does not have "
                         f"(shipped: {', '.join(shipped) or 'none'})")
    for file in names:
        target = os.path.join(folder, file)
        if not os.path.isfile(target):
            raise ValueError(f"{target}: missing, but {reference} refers to it")
        if sha256_file(target) != record["sha256"][file]:
            raise ValueError(f"{target}: differs from the file {reference} was written for (the model was trained "
                             "with another version of this parser); reinstall deepcolor or retrain the model")
    return folder
