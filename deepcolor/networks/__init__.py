"""The per-cluster colorization network (paper, Sec. 3.1): a small fully connected regressor,
or (ours, ``--bins``) a classifier over chroma bins read back by an annealed mean."""

from deepcolor.networks.blend import NetworkBlend
from deepcolor.networks.chroma import ChromaNetwork, count_weights, hidden_units, train_network

__all__ = ["ChromaNetwork", "NetworkBlend", "count_weights", "hidden_units", "train_network"]
