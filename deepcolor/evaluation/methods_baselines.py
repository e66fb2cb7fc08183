"""Benchmark methods of the baselines: ``welsh-auto``, ``reinhard-auto``, ``levin-hints``.

* ``welsh-auto`` / ``reinhard-auto`` are fully automatic: the reference is the image
  of the default reference set (SIFT Flow ``train.txt`` + SUN ``extra.txt`` under the
  data root) whose gist (:func:`deepcolor.features.gist`) is nearest to the target's.
* ``levin-hints`` colorizes from hints simulated on the ground truth
  (:func:`deepcolor.core.hints.simulate_hints`).

The reference set's gists are computed once (in parallel, with a progress bar) and
cached on disk (:class:`ReferenceSet`).
"""

import hashlib
import os
import tempfile

import numpy as np

from deepcolor.core.paths import cache_dir as cache_dir_of
from deepcolor.core.settings import TransferSettings
from deepcolor.evaluation.registry import hint_options, register_method

#: The default reference set: (dataset folder, list file) under the data root.
REFERENCE_LISTS = (("siftflow", "train.txt"), ("sun", "extra.txt"))

#: Images per joblib task when computing gists.
_GIST_CHUNK = 32


def _gist_version():
    """Identifies the gist implementation (any change of ``GIST_VERSION`` invalidates caches)."""
    from deepcolor.features import GIST_VERSION

    return f"v{GIST_VERSION}"


def _read_list(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: reference list not found (is the data root right?)")
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]


def _gist_chunk(paths):
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.features import gist

    return np.stack([gist(rgb2gray(load_rgb(path))) for path in paths]).astype(np.float32)


class ReferenceSet:
    """Colour reference images with their gists, for nearest-gist retrieval.

    Parameters
    ----------
    data_root : str
        Folder holding ``siftflow/`` and ``sun/``.
    cache_dir : str, optional
        Where the gists are cached (``reference_gists/<key>.npz``); default
        ``~/.cache/deepcolor``. The key hashes the list contents (names and file
        sizes) and the gist version, so a changed list or gist code recomputes.
    jobs : int
        Worker processes for computing the gists (joblib).
    progress : bool
        Show a tqdm progress bar while computing.
    lists : sequence of (folder, list file)
        Default :data:`REFERENCE_LISTS`.

    Attributes
    ----------
    paths : list of str
        Absolute image paths.
    gists : ndarray, shape (N, 512), float32
    """

    def __init__(self, data_root, cache_dir=None, jobs=1, progress=True, lists=REFERENCE_LISTS):
        root = os.path.abspath(os.path.expanduser(os.fspath(data_root)))
        if not os.path.isdir(root):
            raise FileNotFoundError(f"data root {root} does not exist or is not a folder")
        entries = []
        for folder, list_name in lists:
            for name in _read_list(os.path.join(root, folder, list_name)):
                entries.append((f"{folder}/{name}", os.path.join(root, folder, "images", name)))
        if not entries:
            raise ValueError("the reference set is empty")
        self.names = [name for name, _ in entries]
        self.paths = [path for _, path in entries]
        self.cache_dir = cache_dir_of(cache_dir)
        self.gists = self._load_or_compute(jobs, progress)

    def _key(self):
        digest = hashlib.sha1(_gist_version().encode())
        for name, path in zip(self.names, self.paths):
            size = os.path.getsize(path) if os.path.exists(path) else -1
            digest.update(f"{name}\0{size}\n".encode("utf-8"))
        return digest.hexdigest()[:20]

    def _load_or_compute(self, jobs, progress):
        path = os.path.join(self.cache_dir, "reference_gists", f"{self._key()}.npz")
        if os.path.exists(path):
            try:
                with np.load(path) as cached:
                    if list(cached["names"]) == self.names:
                        return cached["gists"]
            except (OSError, ValueError, KeyError):
                pass  # unreadable cache: recompute and overwrite
        gists = self._compute(jobs, progress)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=os.path.dirname(path))
        os.close(fd)
        try:
            np.savez(tmp, gists=gists, names=np.array(self.names))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return gists

    def _compute(self, jobs, progress):
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        from deepcolor.core.parallel import parallel_jobs

        chunks = [self.paths[i : i + _GIST_CHUNK] for i in range(0, len(self.paths), _GIST_CHUNK)]
        parts = []
        with tqdm(total=len(self.paths), desc="reference gists", unit="img", disable=not progress) as bar:
            for part in Parallel(n_jobs=parallel_jobs(max(1, int(jobs))), return_as="generator")(delayed(_gist_chunk)(c) for c in chunks):
                parts.append(part)
                bar.update(len(part))
        return np.concatenate(parts)

    def ranked(self, gray):
        """Indices of the references, nearest gist (Euclidean) first, for a gray target."""
        from deepcolor.features import gist

        query = gist(gray).astype(np.float32)
        distances = np.linalg.norm(self.gists - query[None, :], axis=1)
        return np.argsort(distances, kind="stable")

    def nearest(self, gray, exclude_name=None):
        """The reference RGB image with the nearest gist, and its name.

        A reference that is the query itself is skipped: the same file name as
        ``exclude_name`` (e.g. a benchmark sample's name), or identical gray pixels.
        """
        from deepcolor.core.color import rgb2gray
        from deepcolor.core.io import load_rgb

        exclude = os.path.basename(exclude_name) if exclude_name else None
        for index in self.ranked(gray):
            if exclude is not None and os.path.basename(self.paths[index]) == exclude:
                continue
            rgb = load_rgb(self.paths[index])
            if rgb.shape[:2] == gray.shape and np.array_equal(rgb2gray(rgb), gray):
                continue
            return rgb, self.names[index]
        raise ValueError("no usable reference image: every reference is the query itself")


class _AutoTransfer:
    """Picklable per-image callable: nearest-gist reference, then a transfer function."""

    def __init__(self, references, transfer, kwargs):
        self.references = references
        self.transfer = transfer
        self.kwargs = kwargs

    def __call__(self, sample):
        reference, _ = self.references.nearest(sample.gray, exclude_name=sample.name)
        return self.transfer(sample.gray, reference, **self.kwargs)


def _reference_set(options):
    from deepcolor.data.root import resolve_data_root

    return ReferenceSet(
        resolve_data_root(options.get("data_root")),
        cache_dir=options.get("cache_dir"),
        jobs=options.get("jobs") or 1,
        progress=not options.get("quiet", False),
    )


def _prepare_reference_set(options):
    """Compute and cache the reference gists once, in parallel, before the workers load them."""
    _reference_set(options)


@register_method(
    "welsh-auto",
    f"Welsh et al. 2002 transfer ({TransferSettings.samples} jittered samples) from the nearest-gist image of "
    "SIFT Flow train + SUN extra",
    prepare=_prepare_reference_set,
)
def _welsh_auto(options):
    from deepcolor.baselines.transfer import welsh_transfer

    kwargs = {"samples": int(options.get("samples") or TransferSettings.samples),
              "seed": int(options.get("seed") or TransferSettings.seed)}
    return _AutoTransfer(_reference_set(options), welsh_transfer, kwargs)


@register_method(
    "reinhard-auto",
    "Reinhard et al. 2001 global l-alpha-beta statistics from the nearest-gist image of SIFT Flow train + SUN extra",
    prepare=_prepare_reference_set,
)
def _reinhard_auto(options):
    from deepcolor.baselines.transfer import reinhard_transfer

    return _AutoTransfer(_reference_set(options), reinhard_transfer, {})


class _LevinHints:
    def __init__(self, n_hints, patch, seed):
        self.n_hints = n_hints
        self.patch = patch
        self.seed = seed

    def __call__(self, sample):
        from deepcolor.baselines.levin import levin_colorize
        from deepcolor.core.hints import simulate_hints

        n = min(self.n_hints, sample.gray.size)
        hints_rgb, mask = simulate_hints(sample.rgb, n, patch=self.patch, seed=(self.seed, sample.index))
        return levin_colorize(sample.gray, hints_rgb, mask)


@register_method(
    "levin-hints",
    "Levin et al. 2004 optimization from simulated hints: --hints random PxP patches (--hint-size) of true chroma",
    uses_ground_truth=True,
    accepts_hints=True,
)
def _levin_hints(options):
    return _LevinHints(*hint_options(options))
