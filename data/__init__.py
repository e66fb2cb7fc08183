"""Datasets (SIFT Flow, SUN, Stanford Background, any folder), pixel sampling and feature caches."""

from deepcolor.data.root import DATA_ENV, resolve_data_root
from deepcolor.data.datasets import (
    DATA_TERMS,
    DatasetError,
    ImageRecord,
    SkipCounter,
    check_labels_match,
    class_names,
    data_terms,
    iter_images,
    load_labels,
    read_list,
    folder_dataset,
    load_dataset,
    siftflow,
    parser_dataset,
    siftflow_original,
    stanford_background,
    sun,
)

__all__ = [
    "DATA_ENV",
    "resolve_data_root",
    "DATA_TERMS",
    "DatasetError",
    "ImageRecord",
    "SkipCounter",
    "check_labels_match",
    "class_names",
    "data_terms",
    "iter_images",
    "load_labels",
    "read_list",
    "folder_dataset",
    "load_dataset",
    "siftflow",
    "parser_dataset",
    "siftflow_original",
    "stanford_background",
    "sun",
]
