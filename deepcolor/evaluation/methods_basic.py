"""Methods that need no model: the ``gray`` reference."""

from deepcolor.core.color import gray_to_rgb
from deepcolor.evaluation.registry import register_method


@register_method("gray", "luminance copied to R, G and B (U = V = 0): the floor every method must beat")
def _gray(options):
    return lambda sample: gray_to_rgb(sample.gray)
