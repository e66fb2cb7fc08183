"""On-disk cache of per-image training features.

One ``.npz`` per image, named by a key that hashes the image file (real path, size and
content digest) together with the feature configuration (samples per image, seed,
semantic on/off and the parser's identity, feature code version), so a change of any of
them misses the cache and a second ``deepcolor train`` with the same settings reuses
everything. The content, not the modification time, identifies the file: a dataset copied
again to the same place (a fresh mount, ``cp`` without ``-p``) keeps its cache. Entries
written under the older key (modification time in place of the digest) are renamed to the
new key when first met (:meth:`FeatureCache.adopt_legacy`), so no extraction is lost. Writes are atomic (temporary name, then rename): a killed run leaves no
half file.

Location: the ``features/`` sub-folder of :func:`deepcolor.core.paths.cache_dir` (``--cache DIR``,
else ``$DEEPCOLOR_CACHE``, else ``~/.cache/deepcolor``).
"""

import functools
import hashlib
import json
import os
import zipfile

import numpy as np

from deepcolor.core.files import atomic_write
from deepcolor.core.paths import cache_dir


@functools.lru_cache(maxsize=1 << 16)
def _content_digest(real, size, mtime_ns):
    # memoized per process on (path, size, mtime): prepare() and judging ask for the same
    # files more than once
    digest = hashlib.sha1()
    with open(real, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_identity(path):
    """``{"path", "size", "sha1"}`` of a file: its real path, size and content digest."""
    # the real path: an image reached through a linked folder (validate_settings.py's VALROOT)
    # is the same image, and shares its cached features; the path stays in the identity
    # because the sampled pixels are seeded by the image's name
    real = os.path.realpath(os.fspath(path))
    st = os.stat(real)
    return {"path": real, "size": int(st.st_size), "sha1": _content_digest(real, int(st.st_size), int(st.st_mtime_ns))}


def cache_key(path, config):
    """Hex key of an image file + a JSON-able feature configuration."""
    blob = json.dumps({"file": file_identity(path), "config": config}, sort_keys=True)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


def legacy_cache_key(path, config):
    """The key that caches written before the content digest used: the modification time in its place."""
    real = os.path.realpath(os.fspath(path))
    st = os.stat(real)
    ident = {"path": real, "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}
    return hashlib.sha1(json.dumps({"file": ident, "config": config}, sort_keys=True).encode("utf-8")).hexdigest()


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

    def adopt_legacy(self, path, config, key):
        """Rename the entry of ``path`` under :func:`legacy_cache_key` to ``key``; True if one was there."""
        if self.has(key):
            return False
        old = self.path(legacy_cache_key(path, config))
        if not os.path.isfile(old):
            return False
        os.makedirs(os.path.dirname(self.path(key)), exist_ok=True)
        try:
            os.replace(old, self.path(key))
        except FileNotFoundError:  # another process adopted it first
            return self.has(key)
        return True

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
