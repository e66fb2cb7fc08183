"""What ``deepcolor report`` is asked for: its settings, and the method and predictions specs.

Methods are given as ``NAME`` or ``NAME:KEY=VALUE[:KEY=VALUE...]``: the options are passed
to the method's factory through the harness's options dict (``deepcolor benchmark`` has no
flag for ``refine``), e.g. ``deepcolor:refine=jbf`` or ``levin-hints:hints=100``. A hint
method at ``k`` hints lives in ``<method>/hints_<k>/``, the layout of ``--hints-sweep``, so
the main table's ``levin-hints`` rows and a sweep share their runs.
"""

import dataclasses
import os
import re

from deepcolor.core.settings import DEFAULT_METRICS, REFINE_METHODS, HintSettings

#: Bootstrap resamples of the confidence intervals and paired tests (:mod:`.stats`).
N_RESAMPLES = 2000
#: Square sizes of the run-time section (:mod:`.runtime`).
RUNTIME_SIZES = (256, 512, 1024, 2048)

#: ``--methods default``: gray, the model and its ablations, the baselines.
DEFAULT_METHODS = (
    "gray",
    "deepcolor",
    "deepcolor-single",
    "deepcolor-nosemantic",
    "deepcolor-norefine",
    "deepcolor-noblend",
    "deepcolor-paper",
    "deepcolor:refine=jbf",
    "deepcolor:refine=dt",
    "welsh-auto",
    "reinhard-auto",
    "levin-hints:hints=10",
    "levin-hints:hints=100",
)
DEFAULT_DATASETS = ("siftflow", "sun")
#: The split each dataset is evaluated on.
SPLITS = {"siftflow": "test", "sun": "test", "stanford": "val", "general": "test", "folder": "test"}
DATASET_TITLES = {"siftflow": "SIFT Flow", "sun": "SUN", "stanford": "Stanford Background", "general": "general photos",
                  "folder": "folder"}
#: Options a method spec may set, with their parsers.
OPTION_TYPES = {"refine": str, "hints": int, "hint_size": int, "seed": int, "samples": int, "model": str,
                "temperature": float}
#: Methods that colorize with ``--model`` (or a ``model=NAME|DIR`` option); the ablations bring their own.
MODEL_METHODS = ("deepcolor", "deepcolor-norefine", "deepcolor-noblend", "deepcolor-hints")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ReportError(ValueError):
    """A user error in the report's arguments (exit status 2 on the command line)."""



@dataclasses.dataclass
class Entry:
    """One row of the main table: a registered method with options, or a predictions folder."""

    label: str
    method: str = None  # registry name; None for predictions
    options: dict = dataclasses.field(default_factory=dict)
    predictions: dict = None  # {dataset: folder}
    key: str = ""  # run folder, relative to RUNS/<dataset>/


def parse_method(text):
    """``NAME[:KEY=VALUE...]`` -> :class:`Entry` (name checked against the registry)."""
    from deepcolor.evaluation.registry import get_method

    parts = [p.strip() for p in text.split(":")]
    name, options = parts[0], {}
    if not name:
        raise ReportError(f"empty method name in {text!r}")
    spec = get_method(name)  # KeyError lists the known methods
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not value.strip():
            raise ReportError(f"method option {part!r} in {text!r}: expected KEY=VALUE")
        if key not in OPTION_TYPES:
            raise ReportError(f"method option {key!r} in {text!r}: known options are {', '.join(OPTION_TYPES)}")
        try:
            options[key] = OPTION_TYPES[key](value.strip())
        except ValueError:
            kind = "a number" if OPTION_TYPES[key] is float else "an integer"
            raise ReportError(f"method option {part!r} in {text!r}: {key} must be {kind}") from None
    if "refine" in options:
        if options["refine"] not in REFINE_METHODS:
            raise ReportError(f"{text!r}: unknown refinement {options['refine']!r}; choose one of {', '.join(REFINE_METHODS)}")
    if "model" in options:
        options["model"] = os.path.expanduser(options["model"])
        _check_model_option(text, spec.name, options["model"])
    if "hints" in options and not spec.accepts_hints:
        raise ReportError(f"{text!r}: method {name!r} takes no hints")
    if "hints" in options and options["hints"] < 0:
        raise ReportError(f"{text!r}: hints must be >= 0")
    label = name if not options else f"{name} (" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
    return Entry(label=label, method=spec.name, options=options, key=_run_key(spec, options))


def _check_model_option(text, method, model):
    from deepcolor.core.paths import resolve_model

    if method not in MODEL_METHODS:
        raise ReportError(f"{text!r}: method {method!r} takes no model (those that do: {', '.join(MODEL_METHODS)})")
    try:
        folder = resolve_model(model)
    except FileNotFoundError as exc:
        raise ReportError(f"{text!r}: {exc}") from None
    if not os.path.isfile(os.path.join(folder, "model.json")):
        raise ReportError(f"{text!r}: {folder}: not a model directory (no model.json)")


def _run_key(spec, options):
    rest = {k: v for k, v in options.items() if k != "hints"}
    # a model given as a path becomes one folder name: its separators would nest (or, absolute, escape) RUNS
    base = spec.name + "".join(f"_{k}-{re.sub(r'[^A-Za-z0-9_.+-]', '_', str(v))}" for k, v in sorted(rest.items()))
    if spec.accepts_hints:
        return os.path.join(base, f"hints_{options.get('hints', HintSettings.hints)}")
    return base


def parse_methods(text):
    """Comma-separated method specs; ``default`` expands to :data:`DEFAULT_METHODS`."""
    items = [t.strip() for t in (text or "default").split(",") if t.strip()]
    if not items:
        raise ReportError("--methods is empty")
    entries, labels = [], set()
    for item in items:
        for spec in (DEFAULT_METHODS if item == "default" else (item,)):
            entry = parse_method(spec)
            if entry.label not in labels:
                labels.add(entry.label)
                entries.append(entry)
    return entries


def parse_predictions(values, datasets, method_labels=()):
    """``NAME=DIR`` or ``NAME@DATASET=DIR`` arguments -> list of :class:`Entry`.

    An unqualified ``DIR`` is used for every dataset, as ``DIR/<dataset>/`` when that
    sub-folder exists, else ``DIR`` itself.
    """
    entries = {}
    for value in values or ():
        left, sep, folder = value.partition("=")
        name, at, dataset = left.partition("@")
        name, dataset, folder = name.strip(), dataset.strip(), folder.strip()
        if not sep or not name or not folder:
            raise ReportError(f"--predictions expects NAME=DIR or NAME@DATASET=DIR, got {value!r}")
        if not _NAME.match(name):
            raise ReportError(f"--predictions {value!r}: NAME may hold letters, digits and _ . + - only")
        if at and dataset not in datasets:
            raise ReportError(f"--predictions {value!r}: dataset {dataset!r} is not among --datasets ({', '.join(datasets)})")
        if name in method_labels:
            raise ReportError(f"--predictions {value!r}: NAME {name!r} is already a method of the report")
        folder = os.path.expanduser(folder)
        if not os.path.isdir(folder):
            raise ReportError(f"--predictions {value!r}: {folder}: predictions folder not found")
        entry = entries.setdefault(name, Entry(label=name, predictions={}, key=f"predictions_{name}"))
        targets = [dataset] if at else datasets
        for ds in targets:
            if ds in entry.predictions and at:
                raise ReportError(f"--predictions: {name}@{ds} is given twice")
            sub = os.path.join(folder, ds)
            entry.predictions[ds] = sub if not at and os.path.isdir(sub) else folder
    return list(entries.values())


def _reference_label(text):
    """``--reference``: a row label, or a method spec such as ``levin-hints:hints=10``."""
    try:
        return parse_method(text).label
    except (KeyError, ReportError):
        return text  # a predictions NAME, or a label as printed


@dataclasses.dataclass
class Settings:
    """Everything ``deepcolor report`` was asked for."""

    output: str
    data: str = None
    datasets: tuple = DEFAULT_DATASETS
    folder: str = None
    methods: str = "default"
    predictions: tuple = ()
    limit: int = None
    jobs: int = 1
    runs: str = None
    model: str = None
    cache_dir: str = None
    reference: str = "deepcolor"
    seed: int = 0
    resamples: int = N_RESAMPLES
    sweep: str = None
    runtime: bool = True
    runtime_sizes: str = ",".join(map(str, RUNTIME_SIZES))
    runtime_repeats: int = 3
    runtime_budget: float = 300.0
    metrics: tuple = DEFAULT_METRICS
    figures: bool = True
    n_grid: int = 6
    n_extremes: int = 5
    quiet: bool = False
    video: str = None  # "davis" or a folder of sequences: the video section
    command: str = ""


def _int_list(text, what):
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ReportError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise ReportError(f"{what} is empty")
    return values
