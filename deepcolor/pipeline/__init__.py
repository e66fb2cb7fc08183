"""The pipeline: training a model directory and colorizing with it.

* :mod:`deepcolor.pipeline.colorizer`: :class:`Colorizer` (paper, Algorithm 2);
* :mod:`deepcolor.pipeline.prediction`: the networks run on an image (:func:`predict_chroma`),
  and :mod:`deepcolor.pipeline.distribution`: a bin model's distribution over colours;
* :mod:`deepcolor.pipeline.training`: :func:`train_model` (Algorithm 3 with one network
  per cluster) and :mod:`deepcolor.pipeline.manifest`;
* :mod:`deepcolor.pipeline.training_set`: the training features, extracted into the cache;
* :mod:`deepcolor.pipeline.parser_training`: ``deepcolor train-parser``.
"""

from deepcolor.pipeline.colorizer import Colorizer, colorize_with_network
from deepcolor.pipeline.prediction import predict_chroma
from deepcolor.pipeline.training import train_model

__all__ = ["Colorizer", "colorize_with_network", "predict_chroma", "train_model"]
