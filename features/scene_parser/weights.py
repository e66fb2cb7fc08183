"""Parser weights on disk: ``parser.safetensors`` (tensors only, no pickle) + ``config.json``."""

import json
import os

from deepcolor.core.paths import SHIPPED_PARSER_DIR

WEIGHTS_NAME = "parser.safetensors"
CONFIG_NAME = "config.json"

_CACHE = {}


def save_parser(directory, net, config, *, prefix=""):
    """Write ``<prefix>parser.safetensors`` and ``<prefix>config.json`` into ``directory`` (atomically)."""
    from safetensors.torch import save_file

    from deepcolor.core.files import atomic_write, write_text

    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    weights = os.path.join(directory, prefix + WEIGHTS_NAME)
    with atomic_write(weights) as tmp:
        save_file(state, tmp)
    write_text(os.path.join(directory, prefix + CONFIG_NAME), json.dumps(config, indent=2) + "\n")
    return weights


def _resolve(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        weights = os.path.join(path, WEIGHTS_NAME)
    else:
        weights = path
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"{weights}: parser weights not found (expected a folder with {WEIGHTS_NAME} and {CONFIG_NAME}, or a .safetensors file)")
    base = os.path.basename(weights)
    prefix = base[: -len(WEIGHTS_NAME)] if base.endswith(WEIGHTS_NAME) else os.path.splitext(base)[0] + "."
    config = os.path.join(os.path.dirname(weights), prefix + CONFIG_NAME)
    if not os.path.isfile(config):
        config = os.path.join(os.path.dirname(weights), CONFIG_NAME)
    if not os.path.isfile(config):
        raise FileNotFoundError(f"{config}: parser config not found next to {weights}")
    return weights, config


def load_parser(path=None, device=None, *, cache=True):
    """Load a trained :class:`~deepcolor.features.scene_parser.model.SceneParser`.

    Parameters
    ----------
    path : str, optional
        A folder holding ``parser.safetensors`` + ``config.json`` (what ``train-parser``
        writes, e.g. its ``-o`` folder, or ``best.parser.safetensors`` in it), or a
        ``.safetensors`` file, or a folder of parsers combined
        (:mod:`deepcolor.features.scene_parser.combined`), or a folder referring to a
        shipped parser (:mod:`deepcolor.features.scene_parser.reference`). Default: the
        parser of the default model.
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    cache : bool
        Reuse an already loaded parser for the same path and device.
    """
    import torch
    from safetensors.torch import load_file

    from deepcolor.features.scene_parser.model import SceneParser, build_network, default_device

    from deepcolor.features.scene_parser.combined import CombinedParser, is_combination, read_combination
    from deepcolor.features.scene_parser.reference import resolve_reference

    path = resolve_reference(path)
    if path is not None and is_combination(path):
        folders = read_combination(path)
        return CombinedParser([load_parser(f, device, cache=cache) for f in folders],
                              [os.path.basename(f) for f in folders])
    weights, config_path = _resolve(path if path is not None else SHIPPED_PARSER_DIR)
    device = torch.device(device) if device is not None else default_device()
    key = (os.path.abspath(weights), os.path.getmtime(weights), str(device))
    if cache and key in _CACHE:
        return _CACHE[key]
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_path}: the parser's config is not valid JSON ({exc}); it is damaged") from None
    try:
        net = build_network(config)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{config_path}: not a scene parser config ({exc!r}); it is damaged") from None
    try:
        state = load_file(weights)
    except Exception as exc:  # safetensors raises its own error type for cut-short or garbled files
        raise ValueError(f"{weights}: cannot read the parser's weights ({exc}); the file is damaged or cut short") \
            from None
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{weights}: weights do not match the architecture in {config_path}: {exc}") from exc
    if not all(bool(t.isfinite().all()) for t in state.values() if t.is_floating_point()):
        raise ValueError(f"{weights}: the parser holds non-finite weights; it is damaged")
    parser = SceneParser(net, config, device=device)
    if cache:
        _CACHE[key] = parser
    return parser
