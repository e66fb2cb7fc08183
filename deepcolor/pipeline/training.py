"""Training a Deep Colorization model directory (:func:`train_model`, ``deepcolor train``).

1. features of every reference image at N_s = 1000 sampled pixels
   (:mod:`deepcolor.data.sampling` explains the number), its gist, semantic histogram and
   semantic map, extracted in parallel and cached on disk
   (:mod:`deepcolor.pipeline.training_set`, :mod:`deepcolor.data.cache`);
2. adaptive image clustering (:mod:`deepcolor.clustering.adaptive`, paper Algorithm 3)
   with one network per cluster (:mod:`deepcolor.networks`), each cluster checkpointed as
   soon as it is done;
3. judging: every member of a cluster is colorized by the cluster's network over the full
   image and refined as at colorization time (``judge_refine``, default ``dt``), and its
   PSNR against the ground truth decides whether it leaves (>= 26 dB). To save time the
   network runs at every second row and column (``judge_stride`` 2) and U, V are
   interpolated bilinearly in between; on SIFT Flow this changed PSNR by +0.05 dB on
   average against running it at every pixel;
4. ``max_layers`` caps the depth (default 2): below the top layer each layer removed
   under 10 % of its images in our runs, so Algorithm 3 as written (``max_layers`` 0)
   runs for dozens of layers; and a lookup that may pick lower-layer networks, trained on
   the images the top layer colorized badly, scored lower on held-out reference images
   than the top layer alone (the shipped model manifest's ``validation``).

The model directory gets ``model.json`` (:mod:`deepcolor.pipeline.colorizer`), the
networks, a copy of the scene parser and ``manifest.json`` (:mod:`deepcolor.pipeline.manifest`).
"""

import json
import os
import shutil
import time

import numpy as np

from deepcolor.core.files import remove_stale_temporaries_in, write_text
from deepcolor.core.paths import cache_dir, resolve_parser
from deepcolor.core.settings import ColorizeSettings, FeatureSettings, SettingsError, TrainSettings
from deepcolor.pipeline.cluster_networks import make_trainer
from deepcolor.pipeline.model_dir import (ALEXNET_PROJECTION, MODEL_FILE, MODEL_FORMAT, MODEL_VERSION, file_hashes,
                                          with_checksum)


#: Images whose conv5 vectors (all their samples) fit the PCA of ``--alexnet``, evenly spaced.
PROJECTION_IMAGES = 2000


def _alexnet_projection(tset, dims, model_dir, cache, progress=True, jobs=1):
    """Fit the PCA of ``--alexnet`` on the raw deep vectors of up to :data:`PROJECTION_IMAGES`
    training images (computed for those images only) and store it in the model
    (:data:`ALEXNET_PROJECTION`); a resume reads back the one its networks were trained with."""
    from safetensors.numpy import load_file, save_file

    from deepcolor.core.files import atomic_write
    from deepcolor.features.deep import fit_net_projection, net_dims
    from deepcolor.pipeline.training_set import prepare_deep

    path = os.path.join(model_dir, ALEXNET_PROJECTION)
    if os.path.isfile(path):
        try:
            stored = load_file(path)
        except (OSError, ValueError):  # a damaged file is fitted again
            stored = {}
        if stored.get("components") is not None \
                and stored["components"].shape == (dims, net_dims(tset.config.deep_net, tset.config.alexnet_layers)):
            return stored["mean"], stored["components"]
    step = max(1, len(tset) // PROJECTION_IMAGES)
    raw = prepare_deep(tset, cache, progress, indices=range(0, len(tset), step), jobs=jobs)
    # filled in place, not concatenated from a list: one copy of the vectors in memory (3.8 GB
    # for VGG16 + Inception at 2,000 images of 250 samples), not two
    vectors = np.empty((len(raw) * tset.config.samples, net_dims(tset.config.deep_net, tset.config.alexnet_layers)),
                       np.float16)  # an image gives at most ``samples`` vectors
    filled = 0
    for key in raw:
        entry = cache.load(key, ["deep"])["deep"]
        vectors[filled:filled + len(entry)] = entry
        filled += len(entry)
    vectors = vectors[:filled]
    mean, components = fit_net_projection(tset.config.deep_net, tset.config.alexnet_layers, vectors, dims)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_write(path) as tmp:
        save_file({"mean": mean, "components": components}, tmp,
                  metadata={"what": f"PCA of {tset.config.deep_net} layers {list(tset.config.alexnet_layers)} vectors "
                                    "at training pixels", "images": str(len(vectors))})
    return mean, components


def write_json(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically (temporary name, then rename)."""
    write_text(path, json.dumps(obj, indent=1))


def _copy_parser(parser, model_dir):
    dest = os.path.join(model_dir, "parser")
    if os.path.abspath(parser) == dest:
        return
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    if os.path.isdir(parser):
        shutil.copytree(parser, dest)
    else:
        os.makedirs(dest)
        shutil.copy2(parser, dest)


def _combination(parsers, cache=None):
    """A folder combining the parser folders ``parsers`` (:mod:`deepcolor.features.scene_parser.combined`),
    written once into the cache under a name hashed from their contents."""
    import hashlib

    from deepcolor.core.provenance import folder_identity
    from deepcolor.features.scene_parser.combined import is_combination, write_combination

    parts = [os.path.abspath(os.fspath(p)) for p in parsers]
    for part in parts:
        if not os.path.isdir(part):
            raise FileNotFoundError(f"{part}: scene parser folder not found")
    names = []
    for part in parts:
        name = os.path.basename(os.path.normpath(part)) or "parser"
        names.append(name if name not in names else f"{name}-{len(names)}")
    key = hashlib.sha1("|".join(f"{n}:{folder_identity(p)}" for n, p in zip(names, parts)).encode()).hexdigest()[:16]
    folder = os.path.join(cache_dir(cache, sub="parser-combinations"), key)
    if not is_combination(folder):
        tmp = f"{folder}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        write_combination(tmp, parts, names)
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        try:
            os.replace(tmp, folder)
        except OSError:  # another run wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _check_resume(state_file, state, model_dir, resume, log):
    """Refuse to mix runs: an existing run needs ``resume`` and the same training settings."""
    if not os.path.isfile(state_file):
        return
    with open(state_file, encoding="utf-8") as handle:
        old = json.load(handle)
    if not resume:
        raise FileExistsError(f"{model_dir} holds a training run: pass --resume to continue it, "
                              "or --force / another -o to start over")

    def comparable(value, key):
        # older runs stored the colorization settings beside these; a resume may change those
        # (and a setting added since, absent from an older run, takes its default); the depth
        # cap only says where Algorithm 3 stops, so a resume may lower it (finish at the layers
        # already trained) or raise it (go deeper) without touching a finished layer
        if key == "settings" and isinstance(value, dict):
            shared = (set(state["settings"]) & set(old.get("settings") or {})) - {"max_layers"}
            return {k: v for k, v in value.items() if k in shared}
        return value

    diff = [k for k in state if comparable(old.get(k), k) != comparable(state[k], k)]
    if diff:
        raise ValueError(f"{model_dir}: cannot resume, the run's {', '.join(diff)} differ from this one's")
    log(f"resuming the training run in {model_dir}")


def _park_networks(model_dir, state_dir, keep):
    """Move the networks of clusters the model leaves out (a resume with a lower
    ``--max-layers``) from ``networks/`` to ``checkpoints/networks/``, so the model lists
    and ships only its own; ``keep=None`` moves every parked network back."""
    networks, parked = os.path.join(model_dir, "networks"), os.path.join(state_dir, "networks")
    source, dest = (parked, networks) if keep is None else (networks, parked)
    if not os.path.isdir(source):
        return
    for name in sorted(os.listdir(source)):
        if name.startswith(".") or not name.endswith(".safetensors"):
            continue  # a write in progress (another process's temporary) is left where it is
        if keep is None or f"networks/{name}" not in keep:
            os.makedirs(dest, exist_ok=True)
            os.replace(os.path.join(source, name), os.path.join(dest, name))


def train_model(records, model_dir, training=None, features=None, colorization=None, *, parser=None, cache=None,
                jobs=1, resume=False, device=None, progress=True, log=print, command=None, data_lists=None):
    """Train a model directory on ``records`` (names must be unique), with its manifest.

    Parameters
    ----------
    records : list of deepcolor.data.ImageRecord
    model_dir : str, output (also the checkpoint location)
    training : TrainSettings, default ``TrainSettings()``
    features : FeatureSettings, default ``FeatureSettings()``
    colorization : ColorizeSettings, stored in ``model.json``; default ``ColorizeSettings()``
    parser : parser folder or shipped parser's name (``siftflow33``, ``stanford8``; copied into
        the model), a list of them (combined side by side:
        :mod:`deepcolor.features.scene_parser.combined`), or None for the default model's; ignored
        when ``deepcolor.features.semantic`` is False
    cache : cache folder (:func:`deepcolor.core.paths.cache_dir`); features go in its
        ``features/`` sub-folder
    jobs : worker processes for features and networks
    resume : continue the checkpoints in ``model_dir`` (settings must match, except
        ``training.max_layers``: a lower cap finishes the model at the layers already
        trained, a higher one trains deeper)
    command : str, the command line recorded in ``manifest.json`` (default: the API call)
    data_lists : dict, dataset list -> image count, recorded in ``manifest.json``

    Returns
    -------
    dict : summary (layers, clusters, times, failed images, manifest)
    """
    from deepcolor.clustering import build_hierarchy
    from deepcolor.data.cache import FeatureCache
    from deepcolor.features import CONTEXT_DIMS, CONTEXT_VERSION, DAISY_DIMS, LOW_MID_DIMS, PATCH_DIMS
    from deepcolor.features.alexnet import DEEP_VERSION
    from deepcolor.features.deep import check_projection_dims, net_dims, net_layers
    from deepcolor.pipeline.manifest import training_manifest
    from deepcolor.pipeline.training_set import feature_config, prepare, prepare_deep

    training = training or TrainSettings()
    features = features or FeatureSettings()
    colorization = colorization or ColorizeSettings()
    model_dir = os.path.abspath(os.fspath(model_dir))
    state_dir = os.path.join(model_dir, "checkpoints")
    state_file = os.path.join(state_dir, "train_state.json")
    if features.semantic:
        from deepcolor.features.scene_parser.reference import resolve_reference

        # a model keeps a full copy of its parser, also of one given as a reference to a shipped parser
        if isinstance(parser, (list, tuple)):
            parts = [resolve_reference(resolve_parser(p)) for p in parser]
            parser = parts[0] if len(parts) == 1 else _combination(parts, cache)
        else:
            parser = resolve_reference(resolve_parser(parser))
        if not os.path.exists(parser):
            raise FileNotFoundError(f"{parser}: scene parser not found (pass --parser NAME|DIR or --no-semantic)")
    else:
        parser = None
    names = [r.name for r in records]
    if len(set(names)) != len(names):
        raise ValueError("image names must be unique across the training data")
    if not records:
        raise ValueError("no training images")
    try:
        deep_layers = net_layers(features.deep_net, features.alexnet_layers)
    except ValueError as exc:
        raise SettingsError(f"--alexnet-layers {features.alexnet_layers} with --deep-net {features.deep_net}: "
                            f"{exc}") from None
    if features.alexnet > net_dims(features.deep_net, deep_layers):
        raise SettingsError(f"--alexnet must be <= {net_dims(features.deep_net, deep_layers)} with --deep-net "
                            f"{features.deep_net} --alexnet-layers {features.alexnet_layers}, got {features.alexnet}")
    if features.alexnet:
        try:
            check_projection_dims(features.deep_net, deep_layers, features.alexnet)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    config = feature_config(features.samples, training.seed, features.semantic, parser, features.context,
                            features.alexnet, deep_layers, features.deep_net)
    state = {"settings": {**training.to_json(), **features.to_json()}, "images": names,
             "parser_id": config.parser_id}
    _check_resume(state_file, state, model_dir, resume, log)
    os.makedirs(state_dir, exist_ok=True)
    for folder in (model_dir, state_dir, os.path.join(model_dir, "networks"), os.path.join(state_dir, "epochs")):
        # left by a killed run
        remove_stale_temporaries_in(folder)
    _park_networks(model_dir, state_dir, keep=None)  # a deeper resume uses the parked ones again
    write_json(state_file, state)

    started = time.time()
    cache = FeatureCache(cache_dir(cache, "features"))
    tset = prepare(records, config, cache, parser=parser, jobs=jobs, progress=progress)
    if len(tset) == 0:
        raise ValueError("no readable training image")
    n_deep = features.alexnet
    if n_deep:  # the PCA first, then each image's K projected numbers: the cache never holds all D
        tset.deep_projection = _alexnet_projection(tset, n_deep, model_dir, cache, progress, jobs)
        tset.deep_keys = prepare_deep(tset, cache, progress, projection=tset.deep_projection, jobs=jobs)
        tset.deep_projected = True
    t_features = time.time() - started
    for _, message in tset.failed:
        log(f"skipped {message}")
    log(f"features: {len(tset)} images ready in {t_features:.0f} s (cache {cache.root})")
    if parser is not None:
        _copy_parser(parser, model_dir)
    n_semantic = int(tset.histograms.shape[1]) if features.semantic else 0
    n_context = CONTEXT_DIMS if features.context else 0

    def write_model(clusters, layers, complete):
        model = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "complete": bool(complete),
            "features": {"patch": PATCH_DIMS, "daisy": DAISY_DIMS, "semantic": n_semantic, "context": n_context,
                         **({"context_version": CONTEXT_VERSION} if n_context else {}), "alexnet": n_deep,
                         **({"alexnet_version": DEEP_VERSION, "alexnet_layers": list(deep_layers),
                             "alexnet_net": features.deep_net,
                             "alexnet_projection": ALEXNET_PROJECTION} if n_deep else {}),
                         "input_dim": LOW_MID_DIMS + n_semantic + n_context + n_deep,
                         "samples_per_image": features.samples,
                         "feature_version": config.feature_version, "gist_version": config.gist_version,
                         "parser_id": config.parser_id},
            "parser": "parser" if parser is not None else None,
            "refine": colorization.refine,
            "predict_stride": colorization.predict_stride,
            "working_size": colorization.working_size,
            "temperature": colorization.temperature,
            "lookup": {"k": colorization.lookup_k, "layers": colorization.lookup_layers or None,
                       "gist": "euclidean", "semantic": "cosine", "blend": colorization.blend},
            "training": {**training.to_json(), **features.to_json()},
            "judging": {"refine": training.judge_refine, "stride": training.judge_stride,
                        "metric": "PSNR over the full image, RGB 8-bit"},
            "hierarchy": {"layers": layers, "n_clusters": len(clusters)},
            "timing": {"features_seconds": round(t_features, 1), "total_seconds": round(time.time() - started, 1)},
            "clusters": [c.to_json() for c in clusters],
            "files": file_hashes(model_dir),
        }
        write_json(os.path.join(model_dir, MODEL_FILE), with_checksum(model))

    trainer = make_trainer(tset, model_dir, training, jobs=jobs, device=device, progress=progress,
                           temperature=colorization.temperature)
    clusters, layers = build_hierarchy(
        tset.names, tset.gists, tset.histograms, trainer, n0=training.clusters, mu=training.mu,
        min_psnr=training.min_psnr, max_layers=training.max_layers or None, seed=training.seed,
        judge_last=training.judge_last, state_dir=state_dir, log=log, on_layer=lambda c, l: write_model(c, l, False))
    _park_networks(model_dir, state_dir, keep={rel for c in clusters for rel in c.networks})
    write_model(clusters, layers, True)
    summary = {"layers": layers, "clusters": clusters, "features_seconds": t_features,
               "total_seconds": time.time() - started, "failed": tset.failed, "images": len(tset)}
    manifest = training_manifest(summary, records, training, features, colorization, command=command,
                                 data_lists=data_lists, jobs=jobs, started=started,
                                 previous=os.path.join(model_dir, "manifest.json") if resume else None)
    write_json(os.path.join(model_dir, "manifest.json"), manifest)
    summary["manifest"] = manifest
    return summary
