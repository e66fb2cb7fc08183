"""Where the datasets are: ``--data PATH`` or the ``DEEPCOLOR_DATA`` environment variable."""

import os

DATA_ENV = "DEEPCOLOR_DATA"


def resolve_data_root(path=None, *, required=True):
    """Return the data root: ``path`` if given, else ``$DEEPCOLOR_DATA``.

    The data root is the folder that holds ``siftflow/``, ``sun/`` and
    ``stanford_background/``.

    Raises
    ------
    FileNotFoundError
        Neither is set (when ``required``), or the folder does not exist.
    """
    root = path or os.environ.get(DATA_ENV)
    if not root:
        if required:
            raise FileNotFoundError(
                f"no data root: pass --data PATH or set {DATA_ENV} to the folder holding "
                "siftflow/, sun/ and stanford_background/"
            )
        return None
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data root {root} does not exist or is not a folder")
    return root
