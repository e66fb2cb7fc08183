"""Adaptive image clustering (paper, Algorithm 3) and the test-time cluster lookup."""

from deepcolor.clustering.hierarchy import Cluster, LookupResult, cluster_name, cosine_similarity, lookup
from deepcolor.clustering.adaptive import build_hierarchy, kmeans, layer_is_judged

__all__ = [
    "Cluster", "LookupResult", "cluster_name", "cosine_similarity", "lookup",
    "build_hierarchy", "kmeans", "layer_is_judged",
]
