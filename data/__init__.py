"""Datasets (SIFT Flow, SUN, Stanford Background, any folder), pixel sampling and feature caches."""

from data.root import DATA_ENV, resolve_data_root
from data.datasets import (
    DatasetError,
    ImageRecord,
    folder_dataset,
    load_dataset,
    siftflow,
    siftflow_original,
    stanford_background,
    sun,
)

__all__ = [
    "DATA_ENV",
    "resolve_data_root",
    "DatasetError",
    "ImageRecord",
    "folder_dataset",
    "load_dataset",
    "siftflow",
    "siftflow_original",
    "stanford_background",
    "sun",
]
