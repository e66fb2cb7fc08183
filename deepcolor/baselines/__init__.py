"""The classical baselines: Levin et al. 2004 (scribbles), Welsh et al. 2002 and Reinhard
et al. 2001 (reference transfer)."""

from deepcolor.baselines.levin import levin_colorize
from deepcolor.baselines.transfer import reinhard_transfer, welsh_transfer

__all__ = ["levin_colorize", "reinhard_transfer", "welsh_transfer"]
