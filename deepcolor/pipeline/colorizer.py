"""Colorizing with a trained Deep Colorization model directory.

Python API::

    from deepcolor import Colorizer
    c = Colorizer.load()            # the shipped default model (deepcolor/models/default)
    rgb = c.colorize(image)         # (H, W) uint8 gray or (H, W, 3) uint8 RGB -> (H, W, 3) uint8

Colorization (paper, Algorithm 2): semantic probabilities of the gray image (scene
parser), its gist and semantic histogram; the cluster from the lookup (k nearest gist
centres, then the best cosine of semantic histograms); the cluster's network on the
feature vector of every pixel (band by band, so memory stays bounded at any size); U, V
refined guided by the gray image; combined with the input luminance.

The settings (:class:`deepcolor.core.settings.ColorizeSettings`) are stored in
``model.json`` by ``deepcolor train``; :meth:`Colorizer.load` and ``deepcolor colorize``
can override them. Two are departures from the paper, each measured on held-out
reference images (README, "Results"): ``blend`` averages the networks of the N nearest
clusters instead of using the pick alone (``blend`` 1 is the paper), and
``predict_stride`` runs the networks on every second row and column with U, V
interpolated in between (``predict_stride`` 1 is every pixel).

Model directory (portable: JSON + safetensors, no pickle)::

    model.json                  features, lookup, refinement, hierarchy (every cluster's
                                gist centre, histogram, members, training PSNRs, loss curve)
    networks/L<l>_C<ccc>.safetensors
    parser/                     copy of the scene parser used for the semantic feature
    manifest.json               how it was made (command, data, commit, time, metrics)
    checkpoints/                training state (resume); not needed to colorize

Training is :mod:`deepcolor.pipeline.training`.
"""

import collections
import os
import time
import warnings

import numpy as np

from deepcolor.core.color import combine, to_gray
from deepcolor.core.paths import DEFAULT_MODEL_DIR, resolve_model
from deepcolor.core.settings import PAPER_COLORIZATION, ColorizeSettings, SettingsError
from deepcolor.pipeline.model_dir import (MODEL_FILE, MODEL_FORMAT, MODEL_VERSION,  # noqa: F401 (used by training)
                                          DamagedModelError, read_model_json, verify_file)
from deepcolor.pipeline.prediction import predict_chroma


#: What :meth:`Colorizer.working_chroma` returns.
WorkingChroma = collections.namedtuple("WorkingChroma", "work uv lookup gist times palette")


def colorize_settings_of(config):
    """The :class:`ColorizeSettings` stored in a parsed ``model.json``.

    Keys an older ``model.json`` lacks take the paper's behaviour
    (:data:`~deepcolor.core.settings.PAPER_COLORIZATION`), then the defaults.
    """
    lookup = config.get("lookup") or {}
    stored = {"refine": config.get("refine"), "lookup_k": lookup.get("k"), "lookup_layers": lookup.get("layers"),
              "blend": lookup.get("blend"), "predict_stride": config.get("predict_stride"),
              "working_size": config.get("working_size"), "temperature": config.get("temperature")}
    stored = {k: v for k, v in stored.items() if v is not None}
    return ColorizeSettings.from_json(stored, **PAPER_COLORIZATION)


def _load_projection(model_dir, config):
    """The PCA a ``--alexnet`` model reads its AlexNet layers through: ``(mean, components)`` float32."""
    from safetensors.numpy import load_file

    rel = config["features"]["alexnet_projection"]
    verify_file(model_dir, config, rel)
    try:
        tensors = load_file(os.path.join(model_dir, rel))
        mean, components = tensors["mean"], tensors["components"]
    except (OSError, KeyError, ValueError) as exc:
        raise DamagedModelError(f"{os.path.join(model_dir, rel)}: unreadable AlexNet projection ({exc})") from None
    from deepcolor.features.deep import net_dims

    dims = net_dims(config["features"].get("alexnet_net", "alexnet"), config["features"].get("alexnet_layers", [5]))
    if components.shape != (config["features"]["alexnet"], dims) or mean.shape != (dims,):
        raise DamagedModelError(f"{os.path.join(model_dir, rel)}: components {components.shape} where model.json "
                                f"says ({config['features']['alexnet']}, {dims})")
    return mean.astype(np.float32), components.astype(np.float32)


def working_image(gray, working_size):
    """``gray`` (or any (H, W[, C]) image) scaled (area averaging) so that its longer side is
    ``working_size``; itself when it is no larger, or when ``working_size`` is 0 (native resolution)."""
    h, w = gray.shape[:2]
    if not working_size or max(h, w) <= working_size:
        return gray
    import cv2

    f = working_size / max(h, w)
    size = (max(1, int(round(w * f))), max(1, int(round(h * f))))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def to_full_resolution(gray, work, uv, progress=None):
    """RGB of ``gray`` with the chroma ``uv`` predicted on ``work`` (the working image):
    edge-aware upsampling when ``work`` is smaller (:func:`deepcolor.core.refine.upsample_chroma`),
    then the input's luminance combined with it. The last stage of every colorization."""
    step = progress or (lambda stage: None)
    if work is not gray:
        from deepcolor.core.refine import upsample_chroma

        step("upsample")
        uv = upsample_chroma(uv, gray)
    step("combine")
    return combine(gray, uv)


def colorize_with_network(network, gray, probs=None, refine="none", stride=1, context=None, deep=None):
    """RGB of ``gray`` colorized by one network (no cluster lookup); ``stride`` > 1 runs the
    network on a grid only, ``context`` and ``deep`` as :func:`predict_chroma`."""
    from deepcolor.core.refine import refine_chroma

    uv = predict_chroma(network, gray, probs, stride, context, deep)
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
    settings : ColorizeSettings, the settings in use (the model's, with any overrides)
    all_clusters : list of :class:`deepcolor.clustering.Cluster`
    clusters : list of Cluster, those the lookup considers (``settings.lookup_layers``)
    parser : the scene parser, or None for a model without the semantic feature
    """

    def __init__(self, model_dir, config, clusters, parser=None, settings=None, device=None):
        self.model_dir = model_dir
        self.config = config
        self.settings = settings or colorize_settings_of(config)
        self.all_clusters = clusters
        layers = self.settings.lookup_layers
        #: lookup over the clusters of layers < ``layers`` (None: all layers, the paper's rule)
        self.layers = layers or None
        self.clusters = [c for c in clusters if self.layers is None or c.layer < self.layers]
        self.parser = parser
        self.device = device
        self.semantic = bool(config["features"].get("semantic", 0))
        #: the networks read the local context too (a model trained with ``--context``)
        self.context = bool(config["features"].get("context", 0))
        #: ... and AlexNet's conv5 (a model trained with ``--alexnet``)
        self.alexnet = bool(config["features"].get("alexnet", 0))
        #: the layers it reads (conv5, or the hypercolumn conv3-5; ``--alexnet-layers``)
        self.alexnet_layers = tuple(config["features"].get("alexnet_layers", [5]))
        #: ... of this network (``--deep-net``: alexnet, vgg16 or vgg16+inception)
        self.deep_net = config["features"].get("alexnet_net", "alexnet")
        #: their PCA (:func:`deepcolor.features.alexnet.fit_projection`), read by :meth:`load`
        self.projection = None
        self._networks = {}
        self._trunk = None

    # the settings under their short names
    refine = property(lambda self: self.settings.refine)
    k = property(lambda self: self.settings.lookup_k)
    blend = property(lambda self: self.settings.blend)
    stride = property(lambda self: self.settings.predict_stride)

    @classmethod
    def load(cls, path=None, refine=None, k=None, device=None, layers=None, blend=None, stride=None,
             working_size=None, temperature=None):
        """Load a model directory (``None``: the shipped default model; a bare name: a
        shipped model, see ``deepcolor models``).

        ``refine``, ``k`` (nearest gist centres), ``layers`` (look up among the clusters
        of the first ``layers`` layers only; 0 = all), ``blend`` (networks averaged; 1 =
        the paper's single cluster) and ``stride`` (networks run on every ``stride``-th
        row and column; 1 = every pixel) and ``temperature`` (the annealed mean's, of a model
        trained with ``--bins``) override the model's settings.

        Raises
        ------
        FileNotFoundError
            No model at ``path`` (or no default model shipped).
        ValueError
            The directory is not a deepcolor model, or an override is out of range.
        """
        from deepcolor.clustering import Cluster
        from deepcolor.features.scene_parser import load_parser

        model_dir = resolve_model(path)
        if path is None and not os.path.isfile(os.path.join(model_dir, MODEL_FILE)):
            raise FileNotFoundError(
                f"no default model at {model_dir}: train one with 'deepcolor train -o DIR' and pass --model DIR")
        config = read_model_json(model_dir)
        overrides = {"refine": refine, "lookup_k": k, "lookup_layers": layers, "blend": blend, "predict_stride": stride,
                     "working_size": working_size, "temperature": temperature}
        settings = ColorizeSettings.from_json(
            {**colorize_settings_of(config).to_json(), **{k_: v for k_, v in overrides.items() if v is not None}})
        clusters = [Cluster.from_json(c) for c in config["clusters"]]
        considered = [c for c in clusters if not settings.lookup_layers or c.layer < settings.lookup_layers]
        if blend is not None and settings.blend > len(considered):  # a stored blend may exceed a small model's
            raise SettingsError(f"--blend {settings.blend} exceeds the {len(considered)} clusters the lookup "
                                f"considers in {model_dir}")
        if not config.get("files"):
            warnings.warn(f"{os.path.join(model_dir, MODEL_FILE)} records no file hashes, so damaged files cannot be "
                          "detected; add them with 'deepcolor check-model DIR --add-hashes'", stacklevel=2)
        parser = None
        if config["features"].get("semantic", 0):
            parser_dir = os.path.join(model_dir, config.get("parser") or "parser")
            if not os.path.exists(parser_dir):
                raise FileNotFoundError(f"{parser_dir}: the model's scene parser is missing")
            for rel in (config.get("files") or {}):
                if rel.split("/")[0] == os.path.relpath(parser_dir, model_dir):
                    verify_file(model_dir, config, rel)
            try:
                parser = load_parser(parser_dir)
            except ValueError as exc:
                raise DamagedModelError(f"{exc} (the scene parser of the model {model_dir})") from None
        colorizer = cls(model_dir, config, clusters, parser, settings, device)
        if colorizer.alexnet:
            colorizer.projection = _load_projection(model_dir, config)
        return colorizer

    def network(self, cluster):
        """The network of ``cluster``, checked against ``model.json``'s hash and loaded once;
        a cluster trained with ``--ensemble`` gives the list of its networks (the functions
        that run networks average a list's).

        Raises :class:`~deepcolor.pipeline.model_dir.DamagedModelError` naming the file
        when it is missing, altered or unreadable.
        """
        from deepcolor.networks import ChromaNetwork

        if cluster.name not in self._networks:
            loaded = []
            for rel in cluster.networks:
                verify_file(self.model_dir, self.config, rel)
                try:
                    loaded.append(ChromaNetwork.load(os.path.join(self.model_dir, rel), device=self.device))
                except (OSError, ValueError) as exc:
                    raise DamagedModelError(f"{exc} (network of cluster {cluster.name} of the model "
                                            f"{self.model_dir})") from None
            # a bin network is read at the colorization's temperature, not the one it was trained with
            loaded = [n.at_temperature(self.settings.temperature) if n.bins else n for n in loaded]
            self._networks[cluster.name] = loaded[0] if len(loaded) == 1 else loaded
        return self._networks[cluster.name]

    def analyze(self, gray):
        """``(probs or None, gist, histogram or None)`` of a gray image."""
        from deepcolor.features import gist, semantic_histogram, semantic_probabilities

        probs = None
        hist = None
        if self.semantic:
            probs = semantic_probabilities(gray, self.parser)
            hist = semantic_histogram(probs)
        return probs, np.asarray(gist(gray), dtype=np.float32), hist

    def select(self, gray, probs=None, gist_vector=None, histogram=None):
        """The cluster for ``gray``: a :class:`deepcolor.clustering.LookupResult`."""
        from deepcolor.clustering import lookup

        if gist_vector is None:
            probs, gist_vector, histogram = self.analyze(gray)
        return lookup(self.clusters, gist_vector, histogram, k=self.k, blend=self.blend)

    def deep_maps(self, work):
        """AlexNet's maps of the working image (:func:`deepcolor.features.alexnet.deep_maps`) when
        the model reads them, else None; the trunk is loaded on first use."""
        if not self.alexnet:
            return None
        from deepcolor.features.deep import load_net, net_maps

        if self._trunk is None:
            self._trunk = load_net(self.deep_net, f"the model {self.model_dir}", self.device)
        return net_maps(self.deep_net, work, self._trunk, self.projection, self.alexnet_layers)

    def network_chroma(self, networks, work, probs, deep=None):
        """:func:`predict_chroma` of ``networks`` (blended) on the working image ``work`` with
        the inputs this model's networks read (context, AlexNet's maps: ``deep``, computed
        when not given)."""
        if deep is None:
            deep = self.deep_maps(work)
        return predict_chroma(networks, work, probs, self.stride, self.context, deep)

    def network_distribution(self, networks, work, probs, deep=None):
        """:func:`~deepcolor.pipeline.distribution.chroma_distribution` of bin ``networks``
        on the working image ``work``, with the inputs :meth:`network_chroma` gives them."""
        from deepcolor.pipeline.distribution import chroma_distribution

        if deep is None:
            deep = self.deep_maps(work)
        return chroma_distribution(networks, work, probs, self.stride, self.context, deep)

    def network_outputs(self, networks, work, probs, deep, others=(), distribution=None):
        """:meth:`network_chroma` of ``networks``, of each of ``others`` and (optionally)
        :meth:`network_distribution` of the bin networks ``distribution``, from one
        computation of the inputs they all read: ``([uv of networks, uv of each of others],
        ChromaDistribution or None)`` (:func:`~deepcolor.pipeline.distribution.predict_together`)."""
        from deepcolor.pipeline.distribution import predict_together

        return predict_together([networks, *others], distribution, work, probs, self.stride, self.context, deep)

    def working_chroma(self, gray, refine=None, progress=None, palette=None):
        """The automatic chroma of ``gray`` at the working resolution, before any hint.

        Returns a :class:`WorkingChroma`: the working image ``work``, its refined U/255,
        V/255 ``uv`` (h, w, 2) float32, the ``lookup``
        (:class:`~deepcolor.clustering.LookupResult`), the ``gist``, the ``times``
        (``time.perf_counter()`` when analysis and prediction ended) and the ``palette``.
        ``progress`` is called as each stage starts, as for :meth:`colorize`.

        ``palette`` (the web app's): None, or a function of the lookup and the gist giving
        ``(other networks, bin networks or None)``; the ``palette`` returned is then
        :meth:`network_outputs`' unrefined chroma of each of the other networks and the bin
        networks' distribution, computed in the same pass over the inputs as ``uv``.
        """
        from deepcolor.core.refine import refine_chroma

        step = progress or (lambda stage: None)
        step("analyze")
        work = working_image(gray, self.settings.working_size)
        probs, gist_vector, hist = self.analyze(work)
        t1 = time.perf_counter()
        result = self.select(work, probs, gist_vector, hist)
        step("predict")
        deep = self.deep_maps(work)
        chosen = [self.network(c) for c in result.chosen]
        found = None
        if palette is None:
            uv = self.network_chroma(chosen, work, probs, deep)
        else:
            others, bins = palette(result, gist_vector)
            (uv, *maps), distribution = self.network_outputs(chosen, work, probs, deep, others, bins)
            found = (maps, distribution)
        t2 = time.perf_counter()
        step("refine")
        return WorkingChroma(work, refine_chroma(work, uv, refine or self.refine), result, gist_vector, (t1, t2), found)

    def colorize(self, image, refine=None, return_info=False, progress=None, hints=None, hint_weight=None,
                 hint_settings=None):
        """Colorize an image.

        The lookup, features and networks run on the gray image scaled so that its longer
        side is at most ``settings.working_size`` (the reference images' scale); the
        predicted U, V are refined there, then brought to the input's resolution by
        edge-aware upsampling guided by the full-resolution gray
        (:func:`deepcolor.core.refine.upsample_chroma`). An
        image at or below the working size (every benchmark image) is colorized at its
        own resolution, as is every image with ``working_size`` 0 (the paper).

        Parameters
        ----------
        image : ndarray (H, W) uint8 gray, or (H, W, 3) uint8 RGB (converted to gray first)
        refine : {"jbf", "dt", "none"}, default the model's
        return_info : bool
            Also return a dict (cluster, layer, candidates, seconds per stage).
        progress : callable(stage name), optional
            Called as each stage starts (for a progress bar on large images).
        hints : optional
            User colour hints: a list of ``(row, column, (r, g, b))`` points (3x3 each), or
            ``(marked_rgb, mask)`` as ``deepcolor scribble`` reads them. The automatic
            chroma is bent toward them (:mod:`deepcolor.pipeline.hints`); no hints (or an
            empty list) gives the automatic result exactly.
        hint_weight : float, optional
            How local a hint's correction stays (Levin's data term; default
            :class:`~deepcolor.core.settings.HintSettings`'s ``data_weight``).
        hint_settings : HintSettings, optional
            The hints' data weight, gain prior and chroma guide (default: the class's
            defaults); ``hint_weight``, when given, replaces its ``data_weight``.

        Returns
        -------
        rgb : ndarray (H, W, 3) uint8, the input's luminance with predicted chrominance
        """
        gray = to_gray(image)
        method = refine or self.refine
        t0 = time.perf_counter()
        work, uv, result, _, (t1, t2), _ = self.working_chroma(gray, method, progress)
        if hints is not None and len(hints):
            from deepcolor.pipeline.hints import apply_hints, as_marked, hint_chroma

            marked, mask = as_marked(gray, hints)
            if mask.any():
                hs = hint_settings
                weight = hint_weight if hint_weight is not None or hs is None else hs.data_weight
                uv = apply_hints(work, uv, *hint_chroma(gray, marked, mask, work.shape), weight,
                                 gain_prior=None if hs is None else hs.gain_prior,
                                 chroma_sigma=None if hs is None else hs.chroma_sigma)
        rgb = to_full_resolution(gray, work, uv, progress)
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
            "working_shape": work.shape,
            "seconds": {"analyze": t1 - t0, "predict": t2 - t1, "refine": t3 - t2, "total": t3 - t0},
        }
        return rgb, info



    def colorize_video(self, frames, settings=None):
        """Colorize the frames of one video, in order, with temporal stability.

        Parameters
        ----------
        frames : iterable of ndarray (H, W) uint8 gray or (H, W, 3) uint8 RGB
        settings : :class:`deepcolor.core.settings.VideoSettings`, optional
            ``stabilize=False`` colorizes every frame on its own.

        Returns
        -------
        iterator of ndarray (H, W, 3) uint8 RGB, one per frame, as they come: memory
        holds a frame or two, whatever the video's length. Files (with resume, audio
        and parts) are :func:`deepcolor.pipeline.video_job.colorize_video`'s.
        """
        from deepcolor.pipeline.video import VideoColorizer

        return VideoColorizer(self, settings).colorize_frames(frames)
