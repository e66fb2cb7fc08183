"""Benchmark methods of the learned pipeline: ``deepcolor`` and its ablations.

* ``deepcolor``            -- ``options["model"]`` or the shipped default model, its own settings
                              (``options["refine"]`` overrides the refinement).
* ``deepcolor-norefine``   -- the same model, no refinement.
* ``deepcolor-noblend``    -- the same model with the paper's lookup: the one cluster picked
                              among the k nearest gist centres by semantic histogram, no blend.
* ``deepcolor-single``     -- one network for all images (``--clusters 1 --max-layers 1``).
* ``deepcolor-nosemantic`` -- adaptive clustering, features without the semantic part.
* ``deepcolor-paper``      -- the paper's setting: trained on SIFT Flow train only, lookup over
                              all layers without blend, every pixel, joint bilateral refinement.
                              Algorithm 3 is capped at 2 layers like the default (uncapped, it
                              runs for dozens of layers that each remove a few percent of images).

The ablation models live in ``<ablation dir>/<name>/`` where the ablation dir is
``options["ablation_dir"]``, else ``$DEEPCOLOR_ABLATIONS``, else
``<cache_dir or ~/.cache/deepcolor>/ablations``; ``benchmarks/train_ablations.py`` trains them.
``options["<name>_model"]`` (e.g. ``single_model``) points at one directly.
Their scores on both test sets are in ``benchmarks/results/report.md``.
"""

import os

from deepcolor.evaluation.registry import hint_options, register_method

ABLATION_ENV = "DEEPCOLOR_ABLATIONS"

#: name -> extra ``deepcolor train`` arguments (see benchmarks/train_ablations.py)
ABLATIONS = {
    "single": ["--clusters", "1", "--max-layers", "1"],
    "nosemantic": ["--no-semantic"],
    # the paper's setting, its 33-class SIFT Flow semantic feature included
    "paper": ["--dataset", "siftflow:train", "--judge-refine", "jbf", "--refine", "jbf", "--blend", "1",
              "--predict-stride", "1", "--lookup-layers", "0", "--parser", "siftflow33"],
}


def ablation_dir(options=None):
    options = options or {}
    if options.get("ablation_dir"):
        return os.path.abspath(options["ablation_dir"])
    if os.environ.get(ABLATION_ENV):
        return os.path.abspath(os.environ[ABLATION_ENV])
    from deepcolor.core.paths import cache_dir

    return cache_dir(options.get("cache_dir"), "ablations")


def ablation_model(name, options=None):
    options = options or {}
    path = options.get(f"{name}_model") or os.path.join(ablation_dir(options), name)
    if not os.path.isfile(os.path.join(path, "model.json")):
        raise FileNotFoundError(
            f"ablation model {name!r} not found at {path}: train it with "
            f"'python benchmarks/train_ablations.py --only {name}' (or set {ABLATION_ENV})")
    return path


def _method(model, refine, temperature=None):
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(model, refine=refine, temperature=temperature)
    return lambda sample: colorizer.colorize(sample.gray)


@register_method("deepcolor", "Deep Colorization: adaptive clusters of per-pixel networks (patch + DAISY + semantic), refined")
def _deepcolor(options):
    return _method(options.get("model"), options.get("refine"), options.get("temperature"))


@register_method("deepcolor-norefine", "Deep Colorization without chroma refinement (ablation)")
def _deepcolor_norefine(options):
    return _method(options.get("model"), "none")


@register_method("deepcolor-noblend", "Deep Colorization with the paper's lookup: one cluster's network, no blend (ablation)")
def _deepcolor_noblend(options):
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(options.get("model"), refine=options.get("refine"), blend=1)
    return lambda sample: colorizer.colorize(sample.gray)


@register_method("deepcolor-single", "Deep Colorization with a single network for all images (ablation)")
def _deepcolor_single(options):
    return _method(ablation_model("single", options), options.get("refine"))


@register_method("deepcolor-nosemantic", "Deep Colorization without the semantic feature (ablation)")
def _deepcolor_nosemantic(options):
    return _method(ablation_model("nosemantic", options), options.get("refine"))


@register_method("deepcolor-paper", "Deep Colorization in the paper's setting: SIFT Flow train only, paper lookup, joint bilateral refinement")
def _deepcolor_paper(options):
    return _method(ablation_model("paper", options), "jbf")


class _DeepcolorHints:
    def __init__(self, colorizer, n_hints, patch, seed, settings):
        self.colorizer, self.n_hints, self.patch, self.seed, self.settings = colorizer, n_hints, patch, seed, settings

    def __call__(self, sample):
        from deepcolor.core.hints import simulate_hints

        n = min(self.n_hints, sample.gray.size)
        hints_rgb, mask = simulate_hints(sample.rgb, n, patch=self.patch, seed=(self.seed, sample.index))
        return self.colorizer.colorize(sample.gray, hints=(hints_rgb, mask), hint_settings=self.settings)


@register_method(
    "deepcolor-hints",
    "deepcolor bent toward simulated hints (--hints PxP patches of true chroma): the difference propagated by "
    "Levin's optimization with a data term, guided by the luminance and the automatic chroma",
    uses_ground_truth=True,
    accepts_hints=True,
)
def _deepcolor_hints(options):
    from deepcolor.pipeline import Colorizer

    from deepcolor.core.settings import HintSettings

    settings = options.get("hint_settings") or HintSettings()
    return _DeepcolorHints(Colorizer.load(options.get("model"), refine=options.get("refine")),
                           *hint_options(options), settings)
