"""The per-cluster colorization network (paper, Sec. 3.1): a small fully connected regressor."""

from deepcolor.networks.chroma import ChromaNetwork, NetworkBlend, count_weights, hidden_units, train_network

__all__ = ["ChromaNetwork", "NetworkBlend", "count_weights", "hidden_units", "train_network"]
