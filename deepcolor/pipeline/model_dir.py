"""The model directory on disk: ``model.json``'s schema and the integrity of its weight files.

``model.json`` records the SHA-256 of every weight file (``files``: the networks and the
scene parser's files, by path relative to the model directory) and a ``checksum`` of its
own contents, so that a flipped digit in a gist centre is caught like a flipped byte in
a network. :func:`read_model_json`
checks the schema, naming the field at fault; :func:`verify_file` checks one file before
it is loaded (the networks lazily, when first needed), so a cut-short or altered file is
refused with a message that names it instead of colorizing with wrong weights. A model
written before the hashes existed still loads; :func:`add_hashes` records them
(``deepcolor check-model DIR --add-hashes``). :func:`check_model` checks a whole directory.
"""

import json
import math
import os

from deepcolor.core.provenance import sha256_file

MODEL_FILE = "model.json"
MODEL_FORMAT = "deepcolor-model"
MODEL_VERSION = 1
#: Folders whose files are hashed: the networks, the scene parser and the feature projection.
WEIGHT_FOLDERS = ("networks", "parser", "features")
#: The PCA of a ``--alexnet`` model's conv5 vectors (mean, components), inside the model.
ALEXNET_PROJECTION = "features/alexnet_projection.safetensors"
CHECKSUM_KEY = "checksum"


def content_checksum(config):
    """SHA-256 of ``model.json``'s contents without its ``checksum`` (canonical JSON)."""
    import hashlib

    body = {k: v for k, v in config.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def with_checksum(config):
    """``config`` with its ``checksum`` (re)computed, as written to ``model.json``."""
    return {**{k: v for k, v in config.items() if k != CHECKSUM_KEY}, CHECKSUM_KEY: content_checksum(config)}


class DamagedModelError(ValueError):
    """A model file is unreadable, altered or cut short; the message names it."""


def _fail(model_file, field, problem):
    raise DamagedModelError(f"{model_file}: field {field!r} {problem}; the model file is damaged or not a "
                            "deepcolor model (re-copy or retrain it)")


def _int(value, model_file, field, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(model_file, field, f"must be an integer >= {minimum}, got {value!r}")


def _numbers(value, model_file, field, length=None):
    if not isinstance(value, list) or (length is not None and len(value) != length):
        size = f"{length} " if length is not None else ""
        _fail(model_file, field, f"must be a list of {size}numbers")
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            _fail(model_file, field, f"must hold finite numbers, found {x!r}")


def _relative_file(value, model_file, field, folder):
    if not isinstance(value, str) or not value:
        _fail(model_file, field, "must name a file")
    norm = os.path.normpath(value)
    if os.path.isabs(value) or norm.startswith("..") or norm.split(os.sep)[0] != folder:
        _fail(model_file, field, f"must be a file inside the model's {folder}/ folder, got {value!r}")


def validate_config(config, model_file):
    """Check the structure of a parsed ``model.json``; :class:`DamagedModelError` names the field."""
    from deepcolor.features import CONTEXT_DIMS, GIST_DIMS
    from deepcolor.features.alexnet import DEEP_LAYERS, DEEP_VERSION
    from deepcolor.features.deep import DEEP_NETS, net_dims, net_layers

    if not isinstance(config, dict):
        raise DamagedModelError(f"{model_file}: expected a JSON object, got {type(config).__name__}; the model "
                                "file is damaged or not a deepcolor model")
    if config.get("format") != MODEL_FORMAT:
        raise DamagedModelError(f"{model_file}: not a deepcolor model (format {config.get('format')!r})")
    if CHECKSUM_KEY in config and config[CHECKSUM_KEY] != content_checksum(config):
        raise DamagedModelError(f"{model_file}: contents differ from its recorded checksum: the model file is "
                                "damaged or was edited (re-copy or retrain it; after an edit on purpose run "
                                "'deepcolor check-model DIR --add-hashes')")
    _int(config.get("version"), model_file, "version", 1)
    if config["version"] > MODEL_VERSION:
        _fail(model_file, "version", f"is {config['version']}, newer than this deepcolor reads ({MODEL_VERSION})")
    features = config.get("features")
    if not isinstance(features, dict):
        _fail(model_file, "features", "must be an object")
    _int(features.get("semantic", 0), model_file, "features.semantic")
    _int(features.get("context", 0), model_file, "features.context")
    if features.get("context", 0) not in (0, CONTEXT_DIMS):
        _fail(model_file, "features.context", f"must be 0 or {CONTEXT_DIMS}, got {features['context']!r}")
    _int(features.get("alexnet", 0), model_file, "features.alexnet")
    net = features.get("alexnet_net", "alexnet")  # models before --deep-net read AlexNet and do not say so
    if net not in DEEP_NETS:
        _fail(model_file, "features.alexnet_net", f"must be one of {', '.join(DEEP_NETS)}, got {net!r}")
    try:  # models before --alexnet-layers read conv5 and do not say so
        layers = net_layers(net, features.get("alexnet_layers", list(DEEP_LAYERS)))
    except (TypeError, ValueError) as exc:
        _fail(model_file, "features.alexnet_layers", str(exc))
    if not 0 <= features.get("alexnet", 0) <= net_dims(net, layers):
        _fail(model_file, "features.alexnet", f"must be 0..{net_dims(net, layers)} for {net} layers {list(layers)}, "
              f"got {features['alexnet']!r}")
    if features.get("alexnet", 0):
        if features.get("alexnet_version") != DEEP_VERSION:
            _fail(model_file, "features.alexnet_version", f"is {features.get('alexnet_version')!r}; this deepcolor "
                  f"computes AlexNet feature version {DEEP_VERSION!r} (retrain the model)")
        if features.get("alexnet_projection") != ALEXNET_PROJECTION:
            _fail(model_file, "features.alexnet_projection", f"must be {ALEXNET_PROJECTION!r}")
    _int(features.get("input_dim"), model_file, "features.input_dim", 1)
    for key in ("lookup", "files"):
        if key in config and config[key] is not None and not isinstance(config[key], dict):
            _fail(model_file, key, "must be an object")
    for rel, digest in (config.get("files") or {}).items():
        if not isinstance(digest, str) or len(digest) != 64:
            _fail(model_file, f"files[{rel!r}]", "must be a SHA-256 hex digest")
    clusters = config.get("clusters")
    if not isinstance(clusters, list) or not clusters:
        _fail(model_file, "clusters", "must be a non-empty list")
    n_semantic = features.get("semantic", 0)
    for i, cluster in enumerate(clusters):
        where = f"clusters[{i}]"
        if not isinstance(cluster, dict):
            _fail(model_file, where, "must be an object")
        _int(cluster.get("layer"), model_file, f"{where}.layer")
        _int(cluster.get("index"), model_file, f"{where}.index")
        _numbers(cluster.get("centre"), model_file, f"{where}.centre", GIST_DIMS)
        _numbers(cluster.get("histogram", []), model_file, f"{where}.histogram", n_semantic)
        _relative_file(cluster.get("network"), model_file, f"{where}.network", "networks")
        extra = cluster.get("ensemble", [])
        if not isinstance(extra, list):
            _fail(model_file, f"{where}.ensemble", "must be a list of network files")
        for j, rel in enumerate(extra):
            _relative_file(rel, model_file, f"{where}.ensemble[{j}]", "networks")
    return config


def read_model_json(model_dir):
    """The parsed and checked ``model.json`` of ``model_dir``.

    Raises
    ------
    FileNotFoundError
        No ``model.json``.
    DamagedModelError
        Unreadable JSON, or a field of the wrong type or range (named in the message).
    """
    model_file = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(model_file):
        raise FileNotFoundError(f"{model_dir}: not a model directory (no {MODEL_FILE})")
    try:
        with open(model_file, encoding="utf-8") as handle:
            config = json.load(handle)
    except UnicodeDecodeError as exc:
        raise DamagedModelError(f"{model_file}: not UTF-8 text ({exc.reason}); the model file is damaged") from None
    except json.JSONDecodeError as exc:
        raise DamagedModelError(f"{model_file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                                "the model file is damaged (re-copy or retrain it)") from None
    return validate_config(config, model_file)


def weight_files(model_dir):
    """Relative paths of the files under the model's ``networks/`` and ``parser/`` folders."""
    found = []
    for folder in WEIGHT_FOLDERS:
        base = os.path.join(model_dir, folder)
        for directory, subdirs, files in os.walk(base):
            subdirs.sort()
            for name in sorted(files):
                if not name.startswith("."):  # temporary files of a write in progress
                    found.append(os.path.relpath(os.path.join(directory, name), model_dir))
    return found


def file_hashes(model_dir, relpaths=None):
    """``{relative path: SHA-256}`` of the model's weight files (or of ``relpaths``)."""
    return {rel: sha256_file(os.path.join(model_dir, rel)) for rel in (relpaths or weight_files(model_dir))}


def verify_file(model_dir, config, rel):
    """Check one file against ``model.json``'s hash before it is used.

    Returns
    -------
    bool : True when checked, False when the model records no hash for it (an older model)

    Raises
    ------
    DamagedModelError
        The file is missing while its hash is recorded, or its contents differ.
    """
    recorded = (config.get("files") or {}).get(rel)
    if recorded is None:
        return False
    path = os.path.join(model_dir, rel)
    if not os.path.isfile(path):
        raise DamagedModelError(f"{path}: missing from the model directory; the model is damaged "
                                "(re-copy or retrain it)")
    if sha256_file(path) != recorded:
        raise DamagedModelError(f"{path}: contents differ from the SHA-256 recorded in {MODEL_FILE}; the model is "
                                "damaged (re-copy or retrain it)")
    return True


def _without_checksum(model_dir):
    """``model.json`` checked as :func:`read_model_json` does but for its checksum; None when that fails too."""
    model_file = os.path.join(model_dir, MODEL_FILE)
    try:
        with open(model_file, encoding="utf-8") as handle:
            config = json.load(handle)
        if not isinstance(config, dict):
            return None
        return validate_config({k: v for k, v in config.items() if k != CHECKSUM_KEY}, model_file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, DamagedModelError):
        return None


def add_hashes(model_dir):
    """Record the SHA-256 of every weight file in ``model.json``; returns how many."""
    from deepcolor.core.files import write_text

    model_file = os.path.join(model_dir, MODEL_FILE)
    try:
        config = read_model_json(model_dir)
    except DamagedModelError:
        config = _without_checksum(model_dir)  # an edit on purpose: only the checksum may differ
        if config is None:
            raise
    config["files"] = file_hashes(model_dir)
    write_text(model_file, json.dumps(with_checksum(config), indent=1))
    return len(config["files"])


def check_model(model_dir):
    """Check a whole model directory: schema, every recorded hash, and that every file loads.

    Returns
    -------
    problems : list of str (empty when the model is sound)
    notes : list of str (e.g. files without a recorded hash)
    """
    from deepcolor.features.scene_parser import load_parser
    from deepcolor.networks import ChromaNetwork

    problems, notes = [], []
    try:
        config = read_model_json(model_dir)
    except (FileNotFoundError, DamagedModelError) as exc:
        problems.append(str(exc))
        config = _without_checksum(model_dir)
        if config is None:  # the file itself is unreadable: nothing else can be checked
            return problems, notes
    recorded = config.get("files") or {}
    if CHECKSUM_KEY not in config:
        notes.append(f"{os.path.join(model_dir, MODEL_FILE)}: records no checksum of its own contents (a model "
                     "from before it existed); add it with 'deepcolor check-model DIR --add-hashes'")
    if not recorded:
        notes.append(f"{os.path.join(model_dir, MODEL_FILE)}: records no file hashes (a model from before they "
                     "existed); add them with 'deepcolor check-model DIR --add-hashes'")
    for rel in sorted(set(recorded) | set(weight_files(model_dir))):
        try:
            if not verify_file(model_dir, config, rel) and recorded:
                notes.append(f"{os.path.join(model_dir, rel)}: not recorded in {MODEL_FILE}")
        except DamagedModelError as exc:
            problems.append(str(exc))
    for cluster in config["clusters"]:
        for rel in [cluster["network"]] + list(cluster.get("ensemble", [])):
            try:
                ChromaNetwork.load(os.path.join(model_dir, rel), device="cpu")
            except (OSError, ValueError) as exc:
                problems.append(str(exc))
    if config["features"].get("semantic", 0):
        try:
            load_parser(os.path.join(model_dir, config.get("parser") or "parser"), device="cpu", cache=False)
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
    return list(dict.fromkeys(problems)), notes
