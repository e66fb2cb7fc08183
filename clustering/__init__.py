"""Adaptive image clustering (paper, Algorithm 3) and the test-time cluster lookup."""

from clustering.hierarchy import Cluster, LookupResult, cluster_name, cosine_similarity, lookup, semantic_histogram_of
from clustering.adaptive import DEFAULT_MIN_PSNR, DEFAULT_MU, DEFAULT_N0, build_hierarchy, kmeans

__all__ = [
    "Cluster", "LookupResult", "cluster_name", "cosine_similarity", "lookup", "semantic_histogram_of",
    "DEFAULT_MIN_PSNR", "DEFAULT_MU", "DEFAULT_N0", "build_hierarchy", "kmeans",
]
