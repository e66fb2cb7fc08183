"""The grayscale scene parser behind the semantic feature (issue 4).

* :mod:`deepcolor.parser.model`: the network and :class:`SceneParser` (gray -> probabilities).
* :mod:`deepcolor.parser.train`: ``deepcolor train-parser``.
* :mod:`deepcolor.parser.evaluate`: ``deepcolor eval-parser`` (pixel accuracy, IoU, confusion matrix).

:func:`load_parser` loads the parser shipped in ``deepcolor/models/parser/`` by default.
"""

from deepcolor.parser.weights import SHIPPED_PARSER_DIR, load_parser, save_parser

__all__ = ["SHIPPED_PARSER_DIR", "load_parser", "save_parser"]
