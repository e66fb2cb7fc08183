"""On-disk cache of per-image training features.

One ``.npz`` per image, named by a key that hashes the image file (absolute path, size,
modification time) together with the feature configuration (samples per image, seed,
semantic on/off and the parser's identity, feature code version), so a change of any of
them misses the cache and a second ``deepcolor train`` with the same settings reuses
everything. Writes are atomic (temporary name, then rename): a killed run leaves no
half file.

Location: the ``features/`` sub-folder of :func:`deepcolor.core.paths.cache_dir` (``--cache DIR``,
else ``$DEEPCOLOR_CACHE``, else ``~/.cache/deepcolor``).
"""

import hashlib
import json
import os
import zipfile

import numpy as np

from deepcolor.core.files import atomic_write
from deepcolor.core.paths import cache_dir


def file_identity(path):
    # the real path: an image reached through a linked folder (validate_settings.py's VALROOT)
    # is the same image, and shares its cached features
    st = os.stat(path)
    return {"path": os.path.realpath(os.fspath(path)), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def cache_key(path, config):
    """Hex key of an image file + a JSON-able feature configuration."""
    blob = json.dumps({"file": file_identity(path), "config": config}, sort_keys=True)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


class FeatureCache:
    """A folder of ``<key[:2]>/<key>.npz`` files."""

    def __init__(self, root=None):
        self.root = os.path.abspath(os.fspath(root or cache_dir(sub="features")))

    def path(self, key):
        return os.path.join(self.root, key[:2], f"{key}.npz")

    def has(self, key):
        return os.path.isfile(self.path(key))

    def save(self, key, **arrays):
        path = self.path(key)
        with atomic_write(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)
        return path

    def load(self, key, names=None):
        """Dict of the stored arrays (only ``names`` when given); ``None`` if absent or unreadable."""
        path = self.path(key)
        if not os.path.isfile(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                wanted = names or data.files
                return {n: data[n] for n in wanted}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None
