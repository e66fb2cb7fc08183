"""The training data of the colorization networks: features at sampled pixels, cached.

For each reference image (:func:`extract_image`): the gray image (release luminance), the
semantic probability map from the scene parser (when the model uses semantics), the
feature vectors at N_s sampled pixels (:mod:`data.sampling`) with their targets U/255,
V/255, the gist and the semantic histogram. Everything goes in the feature cache
(:mod:`data.cache`); the semantic map is kept too (float16), so that judging an image's
full-resolution colorization during adaptive clustering needs no second parser run.

:func:`prepare` extracts the images missing from the cache in parallel (joblib, ``jobs``
processes, one torch thread each) and returns a :class:`TrainingSet` holding only the
small per-image data (gists, histograms, cache keys); samples are read back per cluster.
"""

import dataclasses
import hashlib
import os
import warnings

import numpy as np

from data.cache import FeatureCache, cache_key
from data.sampling import DEFAULT_SAMPLES, image_seed, sample_pixels

FEATURE_DIMS = 81  # 49 patch + 32 DAISY


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """What the cached features depend on."""

    samples: int = DEFAULT_SAMPLES
    seed: int = 0
    semantic: bool = True
    parser_id: str = ""
    feature_version: str = ""

    def to_json(self):
        return dataclasses.asdict(self)


def feature_version():
    import features

    return str(getattr(features, "FEATURE_VERSION", getattr(features, "__version__", "1")))


def parser_identity(parser_path):
    """A short hash of a parser folder's files (names and contents)."""
    if parser_path is None:
        return ""
    parser_path = os.fspath(parser_path)
    h = hashlib.sha1()
    if os.path.isdir(parser_path):
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(parser_path) for f in fs)
    else:
        files = [parser_path]
    for f in files:
        h.update(os.path.relpath(f, parser_path).encode())
        with open(f, "rb") as handle:
            h.update(handle.read())
    return h.hexdigest()[:16]


_PARSERS = {}


def get_parser(parser):
    """A parser object from a path (loaded once per process) or the object itself."""
    if parser is None or not isinstance(parser, (str, os.PathLike)):
        return parser
    key = os.fspath(parser)
    if key not in _PARSERS:
        from deepcolor.parser import load_parser

        _PARSERS[key] = load_parser(key)
    return _PARSERS[key]


def compute_semantic(gray, parser):
    """(H, W, N) float32 class probabilities of ``gray`` by ``parser``."""
    from features import semantic_probabilities

    return np.asarray(semantic_probabilities(gray, get_parser(parser)), dtype=np.float32)


def semantic_histogram(probs):
    from clustering.hierarchy import semantic_histogram_of

    return semantic_histogram_of(probs)


def extract_image(path, name, config, parser=None):
    """Training data of one image (see module docstring) as a dict of arrays."""
    from deepcolor.color import chroma_of, rgb2gray
    from deepcolor.io import load_rgb
    from features import features_at, gist

    rgb = load_rgb(path)
    gray = rgb2gray(rgb)
    probs = compute_semantic(gray, parser) if config.semantic else None
    rows, cols = sample_pixels(gray.shape, config.samples, image_seed(name, config.seed))
    feats = np.asarray(features_at(gray, rows, cols, semantic=probs), dtype=np.float32)
    uv = chroma_of(rgb)[rows, cols]
    out = {
        "feats": feats,
        "targets": uv.astype(np.float32),
        "gist": np.asarray(gist(gray), dtype=np.float32),
        "shape": np.array(gray.shape, dtype=np.int64),
    }
    if probs is not None:
        out["histogram"] = semantic_histogram(probs)
        out["semantic"] = probs.astype(np.float16)
    else:
        out["histogram"] = np.zeros(0, dtype=np.float32)
    return out


def _extract_to_cache(path, name, key, config, parser, cache_root, single_thread=False):
    if single_thread:
        import torch

        torch.set_num_threads(1)
    cache = FeatureCache(cache_root)
    if cache.has(key):
        return key, None
    try:
        arrays = extract_image(path, name, config, parser)
    except Exception as exc:  # a bad file must not stop the whole set
        return key, f"{path}: {exc}"
    cache.save(key, **arrays)
    return key, None


@dataclasses.dataclass
class TrainingSet:
    """The small per-image data of a training set; samples stay in the cache."""

    names: list
    paths: list
    keys: list
    gists: np.ndarray
    histograms: np.ndarray
    config: FeatureConfig
    cache_root: str
    failed: list = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.names)

    def samples(self, indices):
        """Concatenated ``(feats (n, D), targets (n, 2))`` of the images at ``indices``."""
        cache = FeatureCache(self.cache_root)
        feats, targets = [], []
        for i in indices:
            data = cache.load(self.keys[i], ["feats", "targets"])
            if data is None:
                raise FileNotFoundError(f"{self.paths[i]}: features missing from the cache {self.cache_root}")
            feats.append(data["feats"])
            targets.append(data["targets"])
        return np.concatenate(feats), np.concatenate(targets)

    def semantic(self, index):
        if not self.config.semantic:
            return None
        data = FeatureCache(self.cache_root).load(self.keys[index], ["semantic"])
        if data is None:
            raise FileNotFoundError(f"{self.paths[index]}: semantic map missing from the cache {self.cache_root}")
        return data["semantic"].astype(np.float32)


def prepare(records, config, cache=None, parser=None, jobs=1, progress=True):
    """Extract (or reuse) the cached training data of ``records``.

    Parameters
    ----------
    records : list of ImageRecord (names must be unique; use dataset-prefixed names)
    config : FeatureConfig
    cache : FeatureCache or path
    parser : parser folder path (workers load it) or a parser object (only with jobs=1)
    jobs : int, worker processes

    Returns
    -------
    TrainingSet (unreadable images are left out and listed in ``failed``)
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
    cfg = config.to_json()
    keys = [cache_key(r.path, cfg) if os.path.exists(r.path) else None for r in records]
    failed = [(r, f"{r.path}: file not found") for r, k in zip(records, keys) if k is None]
    todo = [(r, k) for r, k in zip(records, keys) if k is not None and not cache.has(k)]
    if todo:
        if jobs > 1 and parser is not None and not isinstance(parser, (str, os.PathLike)):
            raise ValueError("with jobs > 1 pass the parser as a folder path")
        bar = tqdm(total=len(todo), desc="features", unit="img", disable=not progress)
        tasks = (delayed(_extract_to_cache)(r.path, r.name, k, config, parser, cache.root, jobs > 1) for r, k in todo)
        if jobs > 1:
            results = Parallel(n_jobs=jobs, return_as="generator_unordered", batch_size=1)(tasks)
        else:
            results = (t[0](*t[1], **t[2]) for t in tasks)
        bad = {}
        for key, error in results:
            if error:
                bad[key] = error
                warnings.warn(f"skipping {error}", stacklevel=2)
            bar.update(1)
        bar.close()
        for r, k in todo:
            if k in bad:
                failed.append((r, bad[k]))
    failed_keys = {cache_key(r.path, cfg) for r, _ in failed if os.path.exists(r.path)}
    names, paths, good_keys, gists, hists = [], [], [], [], []
    for r, k in tqdm(list(zip(records, keys)), desc="index", unit="img", disable=not progress, leave=False):
        if k is None or k in failed_keys:
            continue
        data = cache.load(k, ["gist", "histogram"])
        if data is None:
            failed.append((r, f"{r.path}: cached features unreadable"))
            continue
        names.append(r.name)
        paths.append(r.path)
        good_keys.append(k)
        gists.append(data["gist"])
        hists.append(data["histogram"])
    gists = np.stack(gists) if gists else np.zeros((0, 512), np.float32)
    hists = np.stack(hists) if hists else np.zeros((0, 0), np.float32)
    return TrainingSet(names, paths, good_keys, gists, hists, config, cache.root, failed)
