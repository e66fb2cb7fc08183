"""Where deepcolor's files are: the shipped model, its scene parser, and the cache folder."""

import os

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The shipped default model directory.
DEFAULT_MODEL_DIR = os.path.join(PACKAGE_DIR, "models", "default")
CACHE_ENV = "DEEPCOLOR_CACHE"
#: The folder of the shipped models, one sub-folder per model name (``default``, ...).
MODELS_DIR = os.path.join(PACKAGE_DIR, "models")
#: The shipped scene parsers, one sub-folder per name (``siftflow33``: the paper's 33 SIFT
#: Flow classes; ``stanford8``: Stanford Background's 8), for ``deepcolor train --parser NAME``.
#: The shipped models refer to these instead of holding copies
#: (:mod:`deepcolor.features.scene_parser.reference`).
PARSERS_DIR = os.path.join(MODELS_DIR, "parsers")
#: The default model's scene parser (the paper's 33 SIFT Flow classes); ``deepcolor train``
#: uses it unless given ``--parser``.
SHIPPED_PARSER_DIR = os.path.join(PARSERS_DIR, "siftflow33")


def _shipped(folder, marker):
    """Names of the sub-folders of ``folder`` that hold a ``marker`` file, sorted."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n, marker)))


def _resolve_named(path, default, folder, marker, kind, is_path, hint=""):
    """``default`` for None; ``path`` made absolute when ``is_path(path)`` or it has a
    separator (a missing one is reported where it is read); else a shipped name in ``folder``."""
    if path is None:
        return default
    path = os.fspath(path)
    if is_path(path) or os.sep in path or "/" in path:
        return os.path.abspath(path)
    if os.path.isfile(os.path.join(folder, path, marker)):
        return os.path.join(folder, path)
    names = ", ".join(_shipped(folder, marker)) or "none"
    raise FileNotFoundError(f"{path}: no such {kind} folder, and not a shipped {kind}'s name (shipped: {names}{hint})")


def shipped_models():
    """Names of the models shipped with the package (folders of :data:`MODELS_DIR` holding a model.json)."""
    return _shipped(MODELS_DIR, "model.json")


def shipped_parsers():
    """Names of the scene parsers shipped with the package (folders of :data:`PARSERS_DIR` holding a config.json)."""
    return _shipped(PARSERS_DIR, "config.json")


def resolve_parser(path=None):
    """A scene parser from ``--parser``: ``None`` = the default model's parser; an existing
    folder or file; or the name of a shipped parser (``siftflow33``, ``stanford8``).

    Raises
    ------
    FileNotFoundError
        Neither a folder, a file nor a shipped parser's name (the message lists the names).
    """
    return _resolve_named(path, SHIPPED_PARSER_DIR, PARSERS_DIR, "config.json", "parser", os.path.exists)


def resolve_model(path=None):
    """A model directory from ``--model``: ``None`` = the default model; an existing folder;
    or the name of a shipped model (``Colorizer.load("default")``).

    Raises
    ------
    FileNotFoundError
        Neither a folder nor a shipped model's name (the message lists the shipped names).
    """
    return _resolve_named(path, DEFAULT_MODEL_DIR, MODELS_DIR, "model.json", "model", os.path.isdir,
                          hint="; 'deepcolor models' lists them")


def cache_dir(override=None, sub=None):
    """The cache folder: ``override`` (``--cache``), else ``$DEEPCOLOR_CACHE``, else ``~/.cache/deepcolor``.

    Parameters
    ----------
    override : str or path-like, optional
        A folder given on the command line.
    sub : str, optional
        A sub-folder of the cache (``features``, ``reference_gists``, ``ablations``).

    Returns
    -------
    path : str, absolute (not created)
    """
    root = override or os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "deepcolor")
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    return os.path.join(root, sub) if sub else root
