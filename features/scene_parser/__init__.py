"""The grayscale scene parser behind the semantic feature: inference only.

* :mod:`deepcolor.features.scene_parser.model`: the network and :class:`SceneParser`
  (gray -> class probabilities);
* :mod:`deepcolor.features.scene_parser.weights`: safetensors + JSON on disk, loaded once
  per process (:func:`load_parser`);
* :mod:`deepcolor.features.scene_parser.combined`: several parsers as one feature;
* :mod:`deepcolor.features.scene_parser.reference`: a model's parser kept as a checked
  reference to a parser shipped with the package.

Training is :mod:`deepcolor.pipeline.parser_training` (``deepcolor train-parser``), scores
:mod:`deepcolor.evaluation.parser_eval` (``deepcolor eval-parser``).
:func:`load_parser` loads the default model's parser (``deepcolor/models/parsers/siftflow33/``)
by default.
"""

from deepcolor.features.scene_parser.combined import CombinedParser, write_combination
from deepcolor.features.scene_parser.weights import SHIPPED_PARSER_DIR, load_parser, save_parser

__all__ = ["SHIPPED_PARSER_DIR", "CombinedParser", "load_parser", "save_parser", "write_combination"]
