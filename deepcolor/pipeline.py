"""Deep Colorization end to end: training a model directory and colorizing with it.

Python API::

    from deepcolor import Colorizer
    c = Colorizer.load()            # the shipped default model (deepcolor/models/default)
    rgb = c.colorize(image)         # (H, W) uint8 gray or (H, W, 3) uint8 RGB -> (H, W, 3) uint8

Colorization (paper, Algorithm 2): semantic probabilities of the gray image (scene
parser), its gist and semantic histogram; the cluster from the lookup (k nearest gist
centres, then the best cosine of semantic histograms); the cluster's network on the
feature vector of every pixel (band by band, so memory stays bounded at any size); U, V
refined guided by the gray image; combined with the input luminance.

Two departures, both settings of the model (``model.json``) that ``deepcolor train``
stores and ``Colorizer.load`` / ``deepcolor colorize`` can override, each measured in the
shipped model's manifest: ``blend`` averages the networks of the N nearest clusters
instead of using the pick alone (``blend`` 1 is the paper), and ``predict_stride`` runs
the networks on every second row and column with U, V interpolated in between
(``predict_stride`` 1 is every pixel).

Model directory (portable: JSON + safetensors, no pickle)::

    model.json                  features, lookup, refinement, hierarchy (every cluster's
                                gist centre, histogram, members, training PSNRs, loss curve)
    networks/L<l>_C<ccc>.safetensors
    parser/                     copy of the scene parser used for the semantic feature
    manifest.json               how it was made (command, data, commit, time, metrics)
    checkpoints/                training state (resume); not needed to colorize

Training (:func:`train_model`, ``deepcolor train``):

1. features of every reference image at N_s = 1000 sampled pixels (``data.sampling``
   explains the number), its gist, semantic histogram and semantic map, extracted in
   parallel and cached on disk (``data.training_set``, ``data.cache``);
2. adaptive image clustering (``clustering.adaptive``, paper Algorithm 3) with one network
   per cluster (``deepcolor.model``), each cluster checkpointed as soon as it is done;
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
"""

import dataclasses
import json
import os
import shutil
import time

import numpy as np

from deepcolor.color import combine, to_gray

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL_DIR = os.path.join(PACKAGE_DIR, "models", "default")
DEFAULT_PARSER_DIR = os.path.join(PACKAGE_DIR, "models", "parser")
MODEL_FILE = "model.json"
MODEL_FORMAT = "deepcolor-model"
MODEL_VERSION = 1
from deepcolor.refine import DEFAULT_REFINE  # noqa: E402  (used when model.json names none)


def load_parser_dir(path):
    """The scene parser stored at ``path`` (:func:`deepcolor.parser.load_parser`)."""
    from deepcolor.parser import load_parser

    return load_parser(path)


def predict_chroma(network, gray, probs=None, stride=1):
    """U/255, V/255 at every pixel of ``gray``: (H, W, 2) float32, band by band.

    ``network`` is one network or a list of them; a list's predictions are averaged
    (:class:`deepcolor.model.NetworkBlend`). With ``stride`` > 1 the network runs only at
    every ``stride``-th row and column and U, V are interpolated bilinearly in between
    (exact at the grid points): chrominance is smooth and refined afterwards, and the
    networks are the costly part of colorization.
    """
    from features import iter_feature_bands

    if isinstance(network, (list, tuple)):
        from deepcolor.model import NetworkBlend

        network = network[0] if len(network) == 1 else NetworkBlend(network)
    stride = max(1, int(stride))
    h, w = gray.shape
    coarse = np.empty((-(-h // stride), -(-w // stride), 2), dtype=np.float32)
    for r0, _, feats in iter_feature_bands(gray, semantic=probs, stride=stride):
        if feats.shape[0]:
            first = -(-r0 // stride)  # the band's first grid row
            pred = network.predict(feats.reshape(-1, feats.shape[-1]))
            coarse[first:first + feats.shape[0]] = pred.reshape(feats.shape[0], -1, 2)
    if stride == 1:
        return coarse
    return _upsample(coarse, (h, w), stride)


def _upsample(coarse, shape, stride):
    from scipy.ndimage import map_coordinates

    h, w = shape
    yy, xx = np.meshgrid(np.arange(h) / stride, np.arange(w) / stride, indexing="ij")
    out = np.empty((h, w, 2), dtype=np.float32)
    for c in range(2):
        out[..., c] = map_coordinates(coarse[..., c], [yy, xx], order=1, mode="nearest")
    return out


def colorize_with_network(network, gray, probs=None, refine="none", stride=1):
    """RGB of ``gray`` colorized by one network (no cluster lookup); ``stride`` > 1 runs the
    network on a grid only (see :func:`predict_chroma`)."""
    from deepcolor.refine import refine_chroma

    uv = predict_chroma(network, gray, probs, stride)
    return combine(gray, refine_chroma(gray, uv, refine))


# ------------------------------------------------------------------------------------------
# Colorizer
# ------------------------------------------------------------------------------------------


class Colorizer:
    """A trained Deep Colorization model.

    Use :meth:`load`; :meth:`colorize` does the rest.

    Attributes
    ----------
    model_dir : str
    config : dict, the parsed ``model.json``
    clusters : list of :class:`clustering.Cluster`
    refine : str, refinement used when ``colorize`` is given none
    k : int, lookup's number of nearest gist centres
    blend : int, networks averaged (1: the paper's single pick; see :func:`clustering.lookup`)
    """

    def __init__(self, model_dir, config, clusters, parser=None, refine=None, k=None, device=None, layers=None,
                 blend=None, stride=None):
        self.model_dir = model_dir
        self.config = config
        self.all_clusters = clusters
        if layers is None:
            layers = config.get("lookup", {}).get("layers")
        #: lookup over the clusters of layers < ``layers`` (None: all layers, the paper's rule)
        self.layers = None if layers in (None, 0) else int(layers)
        self.clusters = [c for c in clusters if self.layers is None or c.layer < self.layers]
        self.parser = parser
        self.refine = refine or config.get("refine") or DEFAULT_REFINE
        self.k = int(k or config.get("lookup", {}).get("k", 3))
        self.blend = int(blend or config.get("lookup", {}).get("blend") or 1)
        #: networks run at every ``stride``-th row and column (see :func:`predict_chroma`)
        self.stride = int(stride or config.get("predict_stride") or 1)
        self.device = device
        self.semantic = bool(config["features"].get("semantic", 0))
        self._networks = {}

    @classmethod
    def load(cls, path=None, refine=None, k=None, device=None, layers=None, blend=None, stride=None):
        """Load a model directory (``None``: the shipped default model).

        ``refine``, ``k`` (nearest gist centres), ``layers`` (look up among the clusters
        of the first ``layers`` layers only), ``blend`` (networks averaged; 1 = the
        paper's single cluster) and ``stride`` (networks run on every ``stride``-th row
        and column; 1 = every pixel) override the model's settings.

        Raises
        ------
        FileNotFoundError
            No model at ``path`` (or no default model shipped).
        ValueError
            The directory is not a deepcolor model.
        """
        from clustering.hierarchy import Cluster
        from deepcolor.refine import REFINE_METHODS

        model_dir = os.path.abspath(os.fspath(path)) if path is not None else DEFAULT_MODEL_DIR
        model_file = os.path.join(model_dir, MODEL_FILE)
        if not os.path.isfile(model_file):
            if path is None:
                raise FileNotFoundError(
                    f"no default model at {model_dir}: train one with 'deepcolor train -o DIR' and pass --model DIR")
            raise FileNotFoundError(f"{model_dir}: not a model directory (no {MODEL_FILE})")
        try:
            with open(model_file, encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{model_file}: unreadable model file: {exc}") from exc
        if config.get("format") != MODEL_FORMAT:
            raise ValueError(f"{model_file}: not a deepcolor model (format {config.get('format')!r})")
        if refine is not None and refine not in REFINE_METHODS:
            raise ValueError(f"unknown refinement {refine!r}; choose one of {', '.join(REFINE_METHODS)}")
        if blend is not None and int(blend) < 1:
            raise ValueError(f"blend must be >= 1 (networks averaged), got {blend}")
        if stride is not None and int(stride) < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        clusters = [Cluster.from_json(c) for c in config["clusters"]]
        if not clusters:
            raise ValueError(f"{model_file}: the model has no clusters")
        parser = None
        if config["features"].get("semantic", 0):
            parser_dir = os.path.join(model_dir, config.get("parser") or "parser")
            if not os.path.exists(parser_dir):
                raise FileNotFoundError(f"{parser_dir}: the model's scene parser is missing")
            parser = load_parser_dir(parser_dir)
        return cls(model_dir, config, clusters, parser, refine, k, device, layers, blend, stride)

    def network(self, cluster):
        from deepcolor.model import ChromaNetwork

        if cluster.name not in self._networks:
            self._networks[cluster.name] = ChromaNetwork.load(os.path.join(self.model_dir, cluster.network),
                                                              device=self.device)
        return self._networks[cluster.name]

    def analyze(self, gray):
        """``(probs or None, gist, histogram or None)`` of a gray image."""
        from features import gist

        probs = None
        hist = None
        if self.semantic:
            from data.training_set import compute_semantic, semantic_histogram

            probs = compute_semantic(gray, self.parser)
            hist = semantic_histogram(probs)
        return probs, np.asarray(gist(gray), dtype=np.float32), hist

    def select(self, gray, probs=None, gist_vector=None, histogram=None):
        """The cluster for ``gray``: a :class:`clustering.LookupResult`."""
        from clustering.hierarchy import lookup

        if gist_vector is None:
            probs, gist_vector, histogram = self.analyze(gray)
        return lookup(self.clusters, gist_vector, histogram, k=self.k, blend=self.blend)

    def colorize(self, image, refine=None, return_info=False):
        """Colorize an image.

        Parameters
        ----------
        image : ndarray (H, W) uint8 gray, or (H, W, 3) uint8 RGB (converted to gray first)
        refine : {"jbf", "dt", "none"}, default the model's
        return_info : bool
            Also return a dict (cluster, layer, candidates, seconds per stage).

        Returns
        -------
        rgb : ndarray (H, W, 3) uint8, the input's luminance with predicted chrominance
        """
        from deepcolor.refine import refine_chroma

        gray = to_gray(image)
        t0 = time.perf_counter()
        probs, gist_vector, hist = self.analyze(gray)
        t1 = time.perf_counter()
        result = self.select(gray, probs, gist_vector, hist)
        uv = predict_chroma([self.network(c) for c in result.chosen], gray, probs, self.stride)
        t2 = time.perf_counter()
        method = refine or self.refine
        uv = refine_chroma(gray, uv, method)
        rgb = combine(gray, uv)
        t3 = time.perf_counter()
        if not return_info:
            return rgb
        info = {
            "cluster": result.cluster.name,
            "layer": result.cluster.layer,
            "candidates": result.candidates,
            "blend": [c.name for c in result.blend],
            "lookup": result.describe(),
            "refine": method,
            "seconds": {"analyze": t1 - t0, "predict": t2 - t1, "refine": t3 - t2, "total": t3 - t0},
        }
        return rgb, info


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainSettings:
    """Settings of ``deepcolor train`` (everything that changes the result)."""

    clusters: int = 24
    mu: int = 80
    min_psnr: float = 26.0
    max_layers: int = 2  # 0: no cap (Algorithm 3 as written); see deepcolor/commands/train.py
    samples: int = 1000
    epochs: int = 10
    batch_size: int = 2048
    lr: float = 3e-3
    seed: int = 0
    semantic: bool = True
    judge_refine: str = DEFAULT_REFINE
    judge_stride: int = 2
    refine: str = DEFAULT_REFINE
    lookup_k: int = 3
    lookup_layers: int = 1  # 0: all layers (the paper); 1: the top layer (measured better, see manifest)
    lookup_blend: int = 3  # networks averaged at colorization (1: the paper's single cluster)
    predict_stride: int = 2  # networks run on every 2nd row and column at colorization (1: all)

    def to_json(self):
        return dataclasses.asdict(self)


#: settings used only at colorization time: a resumed run may change them
COLORIZATION_SETTINGS = ("refine", "lookup_k", "lookup_layers", "lookup_blend", "predict_stride")


def _training_part(value, key):
    if key == "settings" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in COLORIZATION_SETTINGS}
    return value


def judge_image(network, tset, index, refine="none", stride=1):
    """Training PSNR of image ``index`` of ``tset``: the full image colorized by ``network``
    (at every ``stride``-th pixel, interpolated in between), refined by ``refine``."""
    from deepcolor.color import rgb2gray
    from deepcolor.io import load_rgb
    from deepcolor.metrics import psnr

    rgb = load_rgb(tset.paths[index])
    gray = rgb2gray(rgb)
    pred = colorize_with_network(network, gray, tset.semantic(index), refine, stride)
    return float(psnr(rgb, pred))


def _cluster_job(task, tset, model_dir, settings, threads, device):
    import torch

    from clustering.hierarchy import cluster_name
    from deepcolor.model import train_network

    # one thread per job: the MLP's matrices are small, and two threads on a shared
    # 2-core machine ran 4x slower than one in our measurements
    torch.set_num_threads(threads or 1)
    layer, index, members = task
    start = time.time()
    feats, targets = tset.samples(members)
    network = train_network(feats, targets, epochs=settings.epochs, batch_size=settings.batch_size,
                            lr=settings.lr, seed=settings.seed * 100003 + layer * 1009 + index, device=device)
    del feats, targets
    rel = os.path.join("networks", f"{cluster_name(layer, index)}.safetensors")
    network.save(os.path.join(model_dir, rel))
    psnrs = [judge_image(network, tset, i, settings.judge_refine, settings.judge_stride) for i in members]
    return task, {"network": rel, "psnrs": psnrs, "history": network.history,
                  "train_seconds": time.time() - start}


def make_trainer(tset, model_dir, settings, jobs=1, device=None, progress=True):
    """The ``trainer`` callable of :func:`clustering.build_hierarchy` for a training set."""
    from tqdm import tqdm

    light = dataclasses.replace(tset, gists=np.zeros((0, 0), np.float32), histograms=np.zeros((0, 0), np.float32))

    def trainer(tasks):
        layer = tasks[0][0]
        bar = tqdm(total=len(tasks), desc=f"layer {layer} networks", unit="cluster", disable=not progress)
        if jobs > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs, return_as="generator_unordered", batch_size=1)(
                delayed(_cluster_job)(t, light, model_dir, settings, 1, device) for t in tasks)
        else:
            results = (_cluster_job(t, light, model_dir, settings, None, device) for t in tasks)
        for item in results:
            bar.update(1)
            yield item
        bar.close()

    return trainer


def _write_json(path, obj):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=1)
    os.replace(tmp, path)


def train_model(records, model_dir, settings=None, *, parser=None, cache=None, jobs=1, resume=False,
                device=None, progress=True, log=print):
    """Train a model directory on ``records`` (names must be unique).

    Parameters
    ----------
    records : list of data.ImageRecord
    model_dir : str, output (also the checkpoint location)
    settings : TrainSettings
    parser : parser folder (copied into the model) or None for the shipped one; ignored
        when ``settings.semantic`` is False
    cache : feature cache folder (default ``$DEEPCOLOR_CACHE`` / ``~/.cache/deepcolor``)
    jobs : worker processes for features and networks
    resume : continue the checkpoints in ``model_dir`` (settings must match)

    Returns
    -------
    dict : summary (layers, clusters, times, failed images)
    """
    from clustering.adaptive import build_hierarchy
    from data.cache import FeatureCache
    from data.training_set import FeatureConfig, feature_version, parser_identity, prepare

    settings = settings or TrainSettings()
    model_dir = os.path.abspath(os.fspath(model_dir))
    state_dir = os.path.join(model_dir, "checkpoints")
    state_file = os.path.join(state_dir, "train_state.json")
    if settings.semantic:
        parser = os.path.abspath(os.fspath(parser or DEFAULT_PARSER_DIR))
        if not os.path.exists(parser):
            raise FileNotFoundError(f"{parser}: scene parser not found (pass --parser DIR or --no-semantic)")
    else:
        parser = None
    names = [r.name for r in records]
    if len(set(names)) != len(names):
        raise ValueError("image names must be unique across the training data")
    if not records:
        raise ValueError("no training images")
    state = {"settings": settings.to_json(), "images": names, "parser_id": parser_identity(parser)}
    if os.path.isfile(state_file):
        with open(state_file, encoding="utf-8") as handle:
            old = json.load(handle)
        if not resume:
            raise FileExistsError(f"{model_dir} holds a training run: pass --resume to continue it, "
                                  "or --force / another -o to start over")
        diff = [k for k in state if _training_part(old.get(k), k) != _training_part(state[k], k)]
        if diff:
            raise ValueError(f"{model_dir}: cannot resume, the run's {', '.join(diff)} differ from this one's")
        log(f"resuming the training run in {model_dir}")
    os.makedirs(state_dir, exist_ok=True)
    _write_json(state_file, state)

    t_start = time.time()
    config = FeatureConfig(samples=settings.samples, seed=settings.seed, semantic=settings.semantic,
                           parser_id=state["parser_id"], feature_version=feature_version())
    cache = FeatureCache(cache)
    tset = prepare(records, config, cache, parser=parser, jobs=jobs, progress=progress)
    t_features = time.time() - t_start
    if len(tset) == 0:
        raise ValueError("no readable training image")
    for rec, message in tset.failed:
        log(f"skipped {message}")
    log(f"features: {len(tset)} images ready in {t_features:.0f} s (cache {cache.root})")

    if parser is not None:
        dest = os.path.join(model_dir, "parser")
        if os.path.abspath(parser) != dest:
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            if os.path.isdir(parser):
                shutil.copytree(parser, dest)
            else:
                os.makedirs(dest)
                shutil.copy2(parser, dest)
    n_semantic = int(tset.histograms.shape[1]) if settings.semantic else 0

    def write_model(clusters, layers, complete):
        model = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "complete": bool(complete),
            "features": {"patch": 49, "daisy": 32, "semantic": n_semantic, "input_dim": 81 + n_semantic,
                         "samples_per_image": settings.samples, "feature_version": config.feature_version,
                         "parser_id": config.parser_id},
            "parser": "parser" if parser is not None else None,
            "refine": settings.refine,
            "predict_stride": settings.predict_stride,
            "lookup": {"k": settings.lookup_k, "layers": settings.lookup_layers or None, "gist": "euclidean",
                       "semantic": "cosine", "blend": settings.lookup_blend},
            "training": settings.to_json(),
            "judging": {"refine": settings.judge_refine, "stride": settings.judge_stride,
                        "metric": "PSNR over the full image, RGB 8-bit"},
            "hierarchy": {"layers": layers, "n_clusters": len(clusters)},
            "timing": {"features_seconds": round(t_features, 1), "total_seconds": round(time.time() - t_start, 1)},
            "clusters": [c.to_json() for c in clusters],
        }
        _write_json(os.path.join(model_dir, MODEL_FILE), model)

    trainer = make_trainer(tset, model_dir, settings, jobs=jobs, device=device, progress=progress)
    clusters, layers = build_hierarchy(
        tset.names, tset.gists, tset.histograms, trainer, n0=settings.clusters, mu=settings.mu,
        min_psnr=settings.min_psnr, max_layers=settings.max_layers or None, seed=settings.seed,
        state_dir=state_dir, log=log, on_layer=lambda c, l: write_model(c, l, False))
    t_total = time.time() - t_start
    write_model(clusters, layers, True)
    return {"layers": layers, "clusters": clusters, "features_seconds": t_features, "total_seconds": t_total,
            "failed": tset.failed, "images": len(tset)}
