"""Several scene parsers as one semantic feature: their class probabilities side by side.

The paper's semantic feature is one parser's N class probabilities (N = 33 on SIFT Flow).
A combination, for instance Stanford Background's 8 classes (with a *foreground* class
for people, cars and objects) beside SIFT Flow's 33, gives the networks ``N = 8 + 33``
dims: each parser's block is its softmax divided by the number of parsers, so the whole
vector still sums to 1 and the semantic smoothing and histogram treat it as one
distribution.

On disk a combination is a folder holding ``combined.json`` (``{"format":
"deepcolor-parser-combination", "parsers": [sub-folder names]}``) and one ordinary parser
folder per part; :func:`deepcolor.features.scene_parser.load_parser` recognizes it, so
``deepcolor train --parser COMBINED`` works as with one parser, and a model stores its
combination like any parser (``model/parser/``, every file hashed).
"""

import json
import os
import shutil

import numpy as np

COMBINED_NAME = "combined.json"
COMBINED_FORMAT = "deepcolor-parser-combination"

__all__ = ["COMBINED_NAME", "CombinedParser", "is_combination", "read_combination", "write_combination"]


def is_combination(path):
    """Whether ``path`` is a folder holding a parser combination."""
    return os.path.isdir(os.fspath(path)) and os.path.isfile(os.path.join(path, COMBINED_NAME))


def read_combination(path):
    """The part folders of the combination at ``path`` (absolute, in order).

    Raises ``ValueError`` naming ``combined.json`` when it is damaged or names a missing part.
    """
    file = os.path.join(path, COMBINED_NAME)
    try:
        with open(file, encoding="utf-8") as handle:
            spec = json.load(handle)
        parts = spec["parsers"] if spec.get("format") == COMBINED_FORMAT else None
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{file}: not a parser combination ({exc}); it is damaged") from None
    if not isinstance(parts, list) or len(parts) < 2 or not all(isinstance(p, str) and p for p in parts):
        raise ValueError(f"{file}: not a parser combination (format {COMBINED_FORMAT!r} with 2 or more 'parsers')")
    folders = []
    for part in parts:
        folder = os.path.join(path, part)
        if os.path.basename(os.path.normpath(part)) != part or not os.path.isdir(folder):
            raise ValueError(f"{file}: part {part!r} is not a folder inside {path}")
        folders.append(folder)
    return folders


def write_combination(out, parsers, names=None):
    """Write a combination of the parser folders ``parsers`` into the new folder ``out``.

    Parameters
    ----------
    out : str
        Folder to create (must not exist, or be empty).
    parsers : list of str
        Parser folders (``config.json`` + ``parser.safetensors``, or a reference to a shipped
        parser, whose files are copied), 2 or more; copied.
    names : list of str, optional
        Sub-folder names (default ``part0``, ``part1``, ...).
    """
    if len(parsers) < 2:
        raise ValueError("a combination needs 2 or more parsers")
    names = list(names or [f"part{i}" for i in range(len(parsers))])
    if len(names) != len(parsers) or len(set(names)) != len(names):
        raise ValueError("one distinct name per parser")
    if os.path.isdir(out) and os.listdir(out):
        raise FileExistsError(f"{out}: folder exists and is not empty")
    from deepcolor.core.files import write_text
    from deepcolor.features.scene_parser.reference import resolve_reference
    from deepcolor.features.scene_parser.weights import CONFIG_NAME, WEIGHTS_NAME

    os.makedirs(out, exist_ok=True)
    for folder, name in zip(parsers, names):
        folder = resolve_reference(folder)
        dest = os.path.join(out, name)
        os.makedirs(dest)
        for file in (WEIGHTS_NAME, CONFIG_NAME):
            shutil.copy2(os.path.join(folder, file), os.path.join(dest, file))
    write_text(os.path.join(out, COMBINED_NAME),
               json.dumps({"format": COMBINED_FORMAT, "parsers": names}, indent=2) + "\n")
    return out


class CombinedParser:
    """Parsers side by side: ``predict`` gives their probabilities concatenated, each block
    divided by the number of parsers (the sum over all classes stays 1).

    Attributes
    ----------
    parts : list of SceneParser
    config : dict
        ``num_classes`` (the sum), ``class_names`` (``<part>:<class>``), ``combined`` (part names).
    """

    def __init__(self, parts, names):
        self.parts = list(parts)
        self.names = list(names)
        class_names = [f"{name}:{c}" for name, p in zip(self.names, self.parts) for c in p.class_names]
        self.config = {"num_classes": len(class_names), "class_names": class_names, "combined": self.names,
                       "input_scale": max(float(p.config.get("input_scale", 1.0)) for p in self.parts)}

    @property
    def num_classes(self):
        return int(self.config["num_classes"])

    @property
    def class_names(self):
        return list(self.config["class_names"])

    def _stack(self, maps, shape):
        import cv2

        h, w = shape
        out = np.empty((h, w, self.num_classes), np.float32)
        start = 0
        for prob in maps:
            if prob.shape[:2] != (h, w):
                prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
            out[..., start:start + prob.shape[2]] = prob
            start += prob.shape[2]
        out /= len(maps)
        return out

    def predict_working(self, gray):
        """Probabilities (h, w, N) at the finest part's working resolution."""
        maps = [p.predict_working(gray) for p in self.parts]
        shape = max((m.shape[:2] for m in maps), key=lambda s: s[0] * s[1])
        return self._stack(maps, shape)

    def predict(self, gray):
        """Probabilities (H, W, N) float32 at the input resolution, summing to 1 per pixel."""
        maps = [p.predict(gray) for p in self.parts]
        return self._stack(maps, maps[0].shape[:2])

    def labels(self, gray):
        raise ValueError("a parser combination has no single label set; evaluate its parts one by one")
