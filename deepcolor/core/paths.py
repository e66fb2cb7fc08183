"""Where deepcolor's files are: the shipped model, its scene parser, and the cache folder."""

import os

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The shipped default model directory.
DEFAULT_MODEL_DIR = os.path.join(PACKAGE_DIR, "models", "default")
#: The shipped scene parser: the one inside the default model (every model directory
#: holds a copy of its parser, so it stays self-contained); ``deepcolor train`` uses it
#: unless given ``--parser``.
SHIPPED_PARSER_DIR = os.path.join(DEFAULT_MODEL_DIR, "parser")
CACHE_ENV = "DEEPCOLOR_CACHE"


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
