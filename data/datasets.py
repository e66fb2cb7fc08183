"""Dataset readers: SIFT Flow, SUN, Stanford Background and any folder of images.

Every reader returns a list of :class:`ImageRecord` (paths, no pixels): images are
read lazily with :func:`deepcolor.core.io.load_rgb`, and :func:`iter_images` skips
unreadable files with a warning and counts them.

Layouts under the data root (``--data`` / ``DEEPCOLOR_DATA``)::

    siftflow/images/*.jpg, siftflow/{train,test}.txt
    sun/images/*.jpg, sun/{test,extra}.txt, sun/categories.csv
    stanford_background/images/<id>.jpg, labels/<id>.png (or <id>.regions.txt),
        {train,val}.txt (ids), classes.txt
    general/images/<source>/<name>.jpg, general/{train,test}.txt, sources.csv
        (the general-photo set: test.txt ships with the shared data; train.txt and its
        images are built by the shared tools' general-set/build.py, see README)

The original SIFT Flow download (``SiftFlowDataset``) is read by :func:`siftflow_original`.
"""

import csv
import dataclasses
import glob
import os
import warnings
from typing import Optional

import numpy as np

from deepcolor.core.io import ImageReadError, is_image_file, load_rgb

SIFTFLOW_CATEGORIES = (
    "coast", "forest", "highway", "insidecity", "mountain", "opencountry", "street", "tallbuilding",
)
STANFORD_CLASSES = ("sky", "tree", "road", "grass", "water", "building", "mountain", "foreground")
UNKNOWN_LABEL = 255

DATASETS = ("siftflow", "sun", "stanford", "general", "folder")


#: The terms under which each dataset's images may be used; a model trained on them carries
#: these in its manifest (``deepcolor models`` prints them).
DATA_TERMS = {
    "siftflow": "SIFT Flow (LabelMe outdoor scenes, Liu, Yuen, Torralba): research use; cite the dataset",
    "sun": "SUN database (Xiao et al. 2010): research use; cite the dataset",
    "stanford": "Stanford Background (Gould, Fulton, Koller 2009): research use; cite the dataset",
    "general": ("general-photo set: research use; its ImageNet-derived images (Imagenette, Imagewoof, the ImageNet "
                "samples) follow ImageNet's terms; UTKFace and All-Age-Faces are for non-commercial research only; "
                "cite every source listed in general/sources.csv"),
    "folder": "your own images: your terms",
}


def data_terms(list_names):
    """``{dataset: terms}`` for list names like ``siftflow:train`` or ``folder:photos``."""
    out = {}
    for name in list_names:
        dataset = str(name).partition(":")[0]
        out[dataset] = DATA_TERMS.get(dataset, "unknown: check the images' own terms")
    return out


class DatasetError(ValueError):
    """A dataset folder or list is missing or malformed; the message names the file."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset.

    Attributes
    ----------
    name : str
        Path relative to the dataset's image folder (unique within the dataset).
    path : str
        Absolute path of the image file.
    category : str or None
        Scene category when the dataset has one.
    label_path : str or None
        Per-pixel labels (Stanford Background PNG / ``.regions.txt``, SIFT Flow ``.mat``).
    """

    name: str
    path: str
    category: Optional[str] = None
    label_path: Optional[str] = None


def _require_dir(path, what):
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: {what} folder not found")
    return path


def read_list(path):
    """Read a file list: one entry per line, blank lines and ``#`` comments ignored; an entry
    listed twice is kept once, with a warning naming the list and the entry."""
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: list file not found")
    with open(path, encoding="utf-8") as handle:
        entries = [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]
    unique = list(dict.fromkeys(entries))
    if len(unique) != len(entries):
        seen, twice = set(), []
        for entry in entries:
            if entry in seen:
                twice.append(entry)
            seen.add(entry)
        warnings.warn(f"{path}: {len(twice)} entr{'y' if len(twice) == 1 else 'ies'} listed more than once, kept "
                      f"once: {', '.join(twice[:5])}{' ...' if len(twice) > 5 else ''}", stacklevel=2)
    return unique


def _check_split(split, allowed, where):
    if split not in allowed:
        raise DatasetError(f"{where}: unknown split {split!r}; choose one of {', '.join(allowed)}")


def siftflow_category(name):
    """SIFT Flow's scene category from a file name such as ``coast_arnat59.jpg``."""
    prefix = os.path.basename(name).split("_", 1)[0]
    return prefix if prefix in SIFTFLOW_CATEGORIES else None


def siftflow(root, split="test", *, labels=False):
    """SIFT Flow as laid out under the data root: ``siftflow/images`` + ``{train,test}.txt``.

    With ``siftflow/labels/<name>.png`` (the 33-class label maps, values 0..32 in the
    order of ``siftflow/classes.txt``, 255 = unlabeled) each record's ``label_path`` names
    its map.

    Parameters
    ----------
    root : str
        Data root (holds ``siftflow/``) or the ``siftflow`` folder itself.
    split : {"train", "test"}
    labels : bool
        Require the label maps (``DatasetError`` naming the first missing one).
    """
    base = root if os.path.isfile(os.path.join(root, "test.txt")) and os.path.isdir(os.path.join(root, "images")) else os.path.join(root, "siftflow")
    _check_split(split, ("train", "test"), base)
    images = _require_dir(os.path.join(base, "images"), "SIFT Flow images")
    names = read_list(os.path.join(base, f"{split}.txt"))
    label_dir = os.path.join(base, "labels")
    if labels:
        _require_dir(label_dir, "SIFT Flow label maps")
        if not os.path.isfile(os.path.join(base, "classes.txt")):
            raise DatasetError(f"{base}: classes.txt not found (the names of the label values)")
    records = []
    for n in names:
        label = os.path.join(label_dir, os.path.splitext(n)[0] + ".png")
        if labels and not os.path.isfile(label):
            raise DatasetError(f"{label}: label map not found")
        records.append(ImageRecord(n, os.path.join(images, n), siftflow_category(n),
                                   label if os.path.isfile(label) else None))
    return records


#: Every N-th training image of SIFT Flow is held out to validate the scene parser during
#: training (the test list is for evaluation alone).
PARSER_VALIDATION_EVERY = 10


def parser_dataset(name, root, split):
    """Labelled records for the scene parser: ``name`` ``"stanford"`` or ``"siftflow"``.

    SIFT Flow comes from the data root's ``siftflow/labels/*.png`` layout, or from the
    original ``SiftFlowDataset`` download (``SemanticLabels/*.mat``) when ``root`` is that.
    Splits: Stanford ``train``, ``val``, ``all``; SIFT Flow ``train`` (its train list less
    every :data:`PARSER_VALIDATION_EVERY`-th image), ``val`` (those held-out images),
    ``test``, ``all``.
    """
    if name == "stanford":
        return stanford_background(root, split)
    if name != "siftflow":
        raise DatasetError(f"unknown labelled dataset {name!r}; choose stanford or siftflow")
    _check_split(split, ("train", "val", "test", "all"), root)
    shared = os.path.isdir(os.path.join(root, "siftflow", "labels")) or os.path.isdir(os.path.join(root, "labels"))
    if shared:
        def read(part):
            return siftflow(root, part, labels=True)
    else:
        base = root if os.path.isdir(os.path.join(root, "SemanticLabels")) else os.path.join(root, "SiftFlowDataset")

        def read(part):
            return siftflow_original(base, part)
    if split == "test":
        return read("test")
    if split == "all":
        return read("train") + read("test")
    train = read("train")
    held_out = set(range(PARSER_VALIDATION_EVERY - 1, len(train), PARSER_VALIDATION_EVERY))
    return [r for i, r in enumerate(train) if (i in held_out) == (split == "val")]


def siftflow_original(path, split=None):
    """The original ``SiftFlowDataset`` download with its 33-class label maps.

    Layout: ``Images/spatial_envelope_256x256_static_8outdoorcategories/*.jpg`` and
    ``SemanticLabels/spatial_envelope_256x256_static_8outdoorcategories/*.mat`` (each
    holding ``S``, the label map, 1-based with 0 = unlabeled, and ``names``).

    Parameters
    ----------
    path : str
        The ``SiftFlowDataset`` folder.
    split : {None, "train", "test"}
        With a split, ``path`` must also hold ``TestSet1.txt`` (the official test list) or
        ``test.txt``/``train.txt`` lists of image names; ``None`` returns every image.
    """
    image_dirs = glob.glob(os.path.join(path, "Images", "*"))
    label_dirs = glob.glob(os.path.join(path, "SemanticLabels", "*"))
    if not image_dirs:
        raise DatasetError(f"{path}: no Images/<set>/ folder (expected the SiftFlowDataset layout)")
    if not label_dirs:
        raise DatasetError(f"{path}: no SemanticLabels/<set>/ folder (expected the SiftFlowDataset layout)")
    image_dir, label_dir = sorted(d for d in image_dirs if os.path.isdir(d))[0], sorted(label_dirs)[0]
    names = sorted(f for f in os.listdir(image_dir) if is_image_file(f))
    if split is not None:
        _check_split(split, ("train", "test"), path)
        names = _siftflow_original_split(path, names, split)
    records = []
    for name in names:
        label = os.path.join(label_dir, os.path.splitext(name)[0] + ".mat")
        records.append(ImageRecord(name, os.path.join(image_dir, name), siftflow_category(name), label))
    return records


def _siftflow_original_split(path, names, split):
    own = os.path.join(path, f"{split}.txt")
    if os.path.isfile(own):
        wanted = {os.path.basename(n) for n in read_list(own)}
        return [n for n in names if n in wanted]
    official = os.path.join(path, "TestSet1.txt")
    if not os.path.isfile(official):
        raise DatasetError(f"{path}: split {split!r} needs {split}.txt or TestSet1.txt")
    test = {os.path.basename(line.replace("\\", "/")) for line in read_list(official)}
    return [n for n in names if (n in test) == (split == "test")]


def sun(root, split="test"):
    """SUN images under ``sun/images`` with ``{test,extra}.txt`` and ``categories.csv``."""
    base = os.path.join(root, "sun")
    _check_split(split, ("test", "extra"), base)
    images = _require_dir(os.path.join(base, "images"), "SUN images")
    names = read_list(os.path.join(base, f"{split}.txt"))
    categories = read_categories(os.path.join(base, "categories.csv"))
    return [ImageRecord(n, os.path.join(images, n), categories.get(n)) for n in names]


def general(root, split="test"):
    """The general-photo set: ``general/images/<source>/...`` listed by ``general/{train,test}.txt``.

    Each record's ``category`` is its source (the first folder of its name: ``imagenette``,
    ``utkface``, ...). ``train.txt`` exists only where the set was built
    (``general-set/build.py --mirror ... --out ROOT``; CI has the test split only).
    """
    base = os.path.join(root, "general")
    _check_split(split, ("train", "test"), base)
    images = _require_dir(os.path.join(base, "images"), "general-set images")
    listing = os.path.join(base, f"{split}.txt")
    if split == "train" and not os.path.isfile(listing):
        raise DatasetError(f"{listing}: list file not found; the general set's training photos are built on your "
                           "machine (README, 'Datasets': general-set/build.py --mirror ... --out ROOT), then pass "
                           "--data ROOT")
    names = read_list(listing)
    return [ImageRecord(n, os.path.join(images, n), n.split("/", 1)[0] if "/" in n else None) for n in names]


def read_categories(path):
    """``{image name: category}`` from a CSV with columns ``image,category`` (empty if absent)."""
    if not os.path.isfile(path):
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"image", "category"} <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected columns 'image,category', got {reader.fieldnames}")
        return {row["image"]: row["category"] for row in reader}


def stanford_background(root, split="val"):
    """Stanford Background: ``images/<id>.jpg`` with ``labels/<id>.png`` or ``labels/<id>.regions.txt``.

    Parameters
    ----------
    root : str
        Data root (holds ``stanford_background/``) or the dataset folder itself.
    split : {"train", "val", "all"}
        ``all`` lists every image of ``images/`` (for the original download, which has no lists).
    """
    base = root if os.path.isdir(os.path.join(root, "labels")) else os.path.join(root, "stanford_background")
    _check_split(split, ("train", "val", "all"), base)
    images = _require_dir(os.path.join(base, "images"), "Stanford Background images")
    labels = _require_dir(os.path.join(base, "labels"), "Stanford Background labels")
    if split == "all":
        ids = sorted(os.path.splitext(f)[0] for f in os.listdir(images) if is_image_file(f))
    else:
        ids = read_list(os.path.join(base, f"{split}.txt"))
    records = []
    for image_id in ids:
        label = os.path.join(labels, f"{image_id}.png")
        if not os.path.isfile(label):
            label = os.path.join(labels, f"{image_id}.regions.txt")
        records.append(ImageRecord(f"{image_id}.jpg", os.path.join(images, f"{image_id}.jpg"), None, label))
    return records


def folder_dataset(path):
    """Every image file under ``path``, recursively, sorted; names relative to ``path``."""
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: folder not found")
    records = []
    for directory, _, files in os.walk(path):
        for f in files:
            if is_image_file(f):
                full = os.path.join(directory, f)
                records.append(ImageRecord(os.path.relpath(full, path), full))
    if not records:
        raise DatasetError(f"{path}: no image files found (looked for {', '.join(('.jpg', '.png', '...'))})")
    return sorted(records, key=lambda r: r.name)


def load_dataset(name, root=None, split="test", folder=None):
    """Records of a dataset by name: ``siftflow``, ``sun``, ``stanford``, ``general`` or ``folder``.

    ``folder`` needs ``folder`` (a path); the others need the data ``root``.
    """
    if name == "folder":
        if not folder:
            raise DatasetError("dataset 'folder' needs a folder path (--folder PATH)")
        return folder_dataset(folder)
    if root is None:
        raise DatasetError(f"dataset {name!r} needs the data root (--data PATH or DEEPCOLOR_DATA)")
    readers = {"siftflow": siftflow, "sun": sun, "stanford": stanford_background, "general": general}
    if name not in readers:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return readers[name](root, split)


def load_labels(record):
    """Per-pixel labels of a record as uint8 (H, W), unknown = 255.

    Stanford Background PNG (0..7, 255 unknown) or ``.regions.txt`` (negative = unknown);
    SIFT Flow ``.mat`` (``S`` 1-based, 0 = unlabeled -> 255, so class k is ``k - 1``).
    """
    path = record.label_path if isinstance(record, ImageRecord) else os.fspath(record)
    if path is None:
        raise DatasetError(f"{getattr(record, 'path', record)}: no label file for this image")
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: label file not found")
    try:
        if path.endswith(".mat"):
            labels = _load_mat_labels(path)
        elif path.endswith(".txt"):
            raw = np.loadtxt(path, dtype=np.int64, ndmin=2)
            labels = np.where(raw < 0, UNKNOWN_LABEL, raw)
        else:
            from PIL import Image

            with Image.open(path) as img:
                labels = np.asarray(img)
            if labels.ndim != 2:
                raise DatasetError(f"{path}: label image must be single-channel, got shape {labels.shape}")
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path}: cannot read labels: {exc}") from exc
    if labels.size == 0:
        raise DatasetError(f"{path}: label map is empty")
    if labels.max() > UNKNOWN_LABEL:
        raise DatasetError(f"{path}: label value {labels.max()} out of range 0..255")
    return labels.astype(np.uint8)


def _load_mat_labels(path):
    from scipy.io import loadmat

    mat = loadmat(path)
    if "S" not in mat:
        raise DatasetError(f"{path}: .mat file has no 'S' label map (keys: {sorted(k for k in mat if not k.startswith('__'))})")
    s = np.asarray(mat["S"]).astype(np.int64)
    return np.where(s <= 0, UNKNOWN_LABEL, s - 1)


def class_names(source):
    """Class names of a labelled dataset.

    ``source`` is a Stanford Background folder / data root (``classes.txt``), a SIFT Flow
    ``.mat`` label file (its ``names``), or a list of records (their first label file).
    """
    if isinstance(source, (list, tuple)):
        if not source:
            raise DatasetError("no records to take class names from")
        label = source[0].label_path
        if label and label.endswith(".mat"):
            return class_names(label)
        return class_names(os.path.dirname(os.path.dirname(label)))
    source = os.fspath(source)
    if source.endswith(".mat"):
        from scipy.io import loadmat

        names = loadmat(source).get("names")
        if names is None:
            raise DatasetError(f"{source}: .mat file has no 'names'")
        return [str(np.asarray(n).ravel()[0]) for n in np.asarray(names).ravel()]
    for candidate in (os.path.join(source, "classes.txt"), os.path.join(source, "stanford_background", "classes.txt")):
        if os.path.isfile(candidate):
            return read_list(candidate)
    return list(STANFORD_CLASSES)


def check_labels_match(record, image_shape, labels):
    """Raise :class:`DatasetError` naming the files when a label map's size differs from its image."""
    if labels.shape != tuple(image_shape[:2]):
        raise DatasetError(
            f"{record.label_path}: label map is {labels.shape[1]}x{labels.shape[0]} but image "
            f"{record.path} is {image_shape[1]}x{image_shape[0]}"
        )


class SkipCounter:
    """Counts and remembers the files a batch reader skipped."""

    def __init__(self):
        self.skipped = []

    def __len__(self):
        return len(self.skipped)


def iter_images(records, skipped=None, loader=load_rgb):
    """Yield ``(record, image)`` for each readable record; skip the rest with a warning.

    Parameters
    ----------
    records : iterable of ImageRecord
    skipped : SkipCounter, optional
        Receives ``(record, message)`` for each skipped file.
    loader : callable
        ``load_rgb`` (default) or ``load_gray``.
    """
    for record in records:
        try:
            image = loader(record.path)
        except ImageReadError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=2)
            if skipped is not None:
                skipped.skipped.append((record, str(exc)))
            continue
        yield record, image
