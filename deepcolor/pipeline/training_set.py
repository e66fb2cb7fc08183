"""Extracting the training data of the colorization networks into the feature cache.

For each reference image (:func:`extract_image`): the gray image (release luminance), the
semantic probability map from the scene parser (when the model uses semantics), the
feature vectors at N_s sampled pixels (:mod:`deepcolor.data.sampling`) with their targets
U/255, V/255, the gist and the semantic histogram, stored in the feature cache
(:mod:`deepcolor.data.cache`; :mod:`deepcolor.data.training_set` reads them back).

:func:`prepare` extracts the images missing from the cache in parallel (joblib, ``jobs``
processes, one torch thread each) and returns a :class:`~deepcolor.data.training_set.TrainingSet`.
"""

import os
import warnings

import numpy as np

from deepcolor.core.parallel import in_processes, one_thread, parallel_jobs
from deepcolor.core.provenance import folder_identity
from deepcolor.data.cache import FeatureCache, cache_key
from deepcolor.data.sampling import image_seed, sample_pixels
from deepcolor.data.training_set import FeatureConfig, TrainingSet
from deepcolor.features import GIST_DIMS


def feature_config(samples, seed, semantic, parser, context=False, alexnet=False, alexnet_layers=(5,),
                   deep_net="alexnet"):
    """The :class:`FeatureConfig` of a training run: its settings and the code and parser versions."""
    from deepcolor import features
    from deepcolor.features.deep import net_layers

    return FeatureConfig(samples=samples, seed=seed, semantic=semantic, parser_id=folder_identity(parser),
                         feature_version=str(features.FEATURE_VERSION), gist_version=str(features.GIST_VERSION),
                         context=bool(context), alexnet=bool(alexnet),
                         alexnet_layers=net_layers(deep_net, alexnet_layers), deep_net=deep_net)


def extract_image(path, name, config, parser=None):
    """Training data of one image (see module docstring) as a dict of arrays.

    ``parser`` is a loaded scene parser or its folder (loaded once per process).
    """
    from deepcolor.core.color import chroma_of, rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.features import features_at, gist, semantic_histogram, semantic_probabilities

    rgb = load_rgb(path)
    gray = rgb2gray(rgb)
    probs = semantic_probabilities(gray, parser) if config.semantic else None
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
        out["histogram"] = semantic_histogram(probs)  # the map itself is recomputed when judging
    else:
        out["histogram"] = np.zeros(0, dtype=np.float32)
    return out


def _extract_to_cache(path, name, key, config, parser, cache_root, single_thread=False):
    if single_thread:
        import torch

        torch.set_num_threads(1)
        one_thread()
    cache = FeatureCache(cache_root)
    if cache.has(key):
        return key, None
    try:
        arrays = extract_image(path, name, config, parser)
    except Exception as exc:  # a bad file must not stop the whole set
        return key, f"{path}: {exc}"
    cache.save(key, **arrays)
    return key, None


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
    for r, k in zip(records, keys):
        if k is not None:
            cache.adopt_legacy(r.path, cfg, k)
    todo = [(r, k) for r, k in zip(records, keys) if k is not None and not cache.has(k)]
    if todo:
        if in_processes(jobs) and parser is not None and not isinstance(parser, (str, os.PathLike)):
            raise ValueError("with jobs > 1 pass the parser as a folder path")
        bar = tqdm(total=len(todo), desc="features", unit="img", disable=not progress)
        elsewhere = in_processes(jobs)
        tasks = (delayed(_extract_to_cache)(r.path, r.name, k, config, parser, cache.root, elsewhere) for r, k in todo)
        if elsewhere:
            results = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator_unordered", batch_size=1)(tasks)
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
    gists = np.stack(gists) if gists else np.zeros((0, GIST_DIMS), np.float32)
    hists = np.stack(hists) if hists else np.zeros((0, 0), np.float32)
    tset = TrainingSet(names, paths, good_keys, gists, hists, config, cache.root, failed,
                       parser=parser if config.semantic else None)
    return tset  # the deep network's vectors are cached apart (prepare_deep), after its PCA is known


def deep_cache_key(path, name, config, projection=None):
    """The cache key of an image's deep vectors (AlexNet's conv5, or the config's network and
    layers) at its sampled pixels: the raw vectors, or those through ``projection``."""
    import hashlib

    from deepcolor.features.alexnet import DEEP_VERSION

    net = {} if config.deep_net == "alexnet" else {"net": config.deep_net}  # AlexNet's keys predate the choice
    if projection is not None:
        digest = hashlib.sha256()
        for array in projection:
            digest.update(np.ascontiguousarray(array, np.float32).tobytes())
        net["projection"] = digest.hexdigest()
    return cache_key(path, {"alexnet": DEEP_VERSION, "layers": list(config.alexnet_layers), **net, "name": name,
                            "samples": config.samples, "seed": config.seed})


#: Images per task of the parallel deep stage: the network loads once per process, and a
#: task carries the projection (K x D numbers) once for this many images.
DEEP_CHUNK = 16


def prepare_deep(tset, cache, progress=True, indices=None, projection=None, jobs=1):
    """Compute (or reuse) the deep network's vectors at the samples of the images ``indices``
    of ``tset`` (default all): one cache entry per image (``deep``, float16).

    Without ``projection`` the entries hold the raw vectors (256 numbers for conv5, 3840 for
    VGG16 + Inception's 4,5,6,7), which training reads only to fit the PCA; with it, the K
    projected numbers (:func:`~deepcolor.features.alexnet.with_projection`: projected before
    reading, as the colorizer does), so that the cache of a large set stays K numbers a
    sample, not D. An image whose raw vectors are cached is projected from them (equal up to
    their float16 rounding) instead of running the network again.

    With ``jobs`` > 1 (or a Dask cluster) the images go to worker processes in chunks of
    :data:`DEEP_CHUNK`, each process loading the network once and running it on one thread:
    on 2 cores two one-thread processes compute VGG16 + Inception 1.7 times as fast as one
    process on two threads (``benchmarks/bench_deep_stage.py``, README). The entries do not
    depend on ``jobs`` beyond float16 rounding (one torch thread sums in another order).

    Returns the entries' keys, in the order of ``indices``."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
    config = tset.config
    indices = list(range(len(tset)) if indices is None else indices)
    keys = [deep_cache_key(tset.paths[i], tset.names[i], config, projection) for i in indices]
    todo = [(tset.paths[i], tset.names[i], k) for i, k in zip(indices, keys) if not cache.has(k)]
    what = f"{config.deep_net} features" + (f" (PCA to {projection[1].shape[0]})" if projection is not None else "")
    bar = tqdm(total=len(todo), desc=what, unit="img", disable=not progress)
    elsewhere = in_processes(jobs) and len(todo) > DEEP_CHUNK
    chunks = [todo[s:s + DEEP_CHUNK] for s in range(0, len(todo), DEEP_CHUNK)]
    tasks = (delayed(_deep_to_cache)(chunk, config, projection, cache.root, elsewhere) for chunk in chunks)
    if elsewhere:
        done = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator_unordered", batch_size=1)(tasks)
    else:
        done = (t[0](*t[1], **t[2]) for t in tasks)
    for count in done:
        bar.update(count)
    bar.close()
    return keys


def _deep_to_cache(chunk, config, projection, cache_root, single_thread=False):
    """The deep entries of ``chunk`` (path, name, key) into the cache; returns how many."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.features.alexnet import deep_at, project
    from deepcolor.features.deep import net_maps, process_net

    if single_thread:
        import torch

        torch.set_num_threads(1)
        one_thread()
    cache = FeatureCache(cache_root)
    for path, name, key in chunk:
        if cache.has(key):
            continue
        raw = cache.load(deep_cache_key(path, name, config), ["deep"]) if projection is not None else None
        if raw is not None:
            vectors = project(raw["deep"].astype(np.float32), projection)
        else:
            gray = rgb2gray(load_rgb(path))
            rows, cols = sample_pixels(gray.shape, config.samples, image_seed(name, config.seed))
            trunk = process_net(config.deep_net)
            vectors = deep_at(net_maps(config.deep_net, gray, trunk, projection, config.alexnet_layers), rows, cols)
        cache.save(key, deep=vectors.astype(np.float16))
    return len(chunk)
