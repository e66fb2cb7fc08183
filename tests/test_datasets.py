import os

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from deepcolor import data
from deepcolor.data.datasets import STANFORD_CLASSES, UNKNOWN_LABEL


def _img(path, h=16, w=20, seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb


@pytest.fixture
def siftflow_original(tmp_path):
    root = tmp_path / "SiftFlowDataset"
    setname = "spatial_envelope_256x256_static_8outdoorcategories"
    names = ["coast_a1.jpg", "forest_b2.jpg", "street_c3.jpg"]
    for i, name in enumerate(names):
        _img(str(root / "Images" / setname / name), seed=i)
        labels = np.full((16, 20), i + 1, dtype=np.uint16)
        labels[0, 0] = 0  # unlabeled
        os.makedirs(root / "SemanticLabels" / setname, exist_ok=True)
        classes = np.array([["awning"], ["balcony"], ["bird"]], dtype=object)
        savemat(str(root / "SemanticLabels" / setname / name.replace(".jpg", ".mat")), {"S": labels, "names": classes})
    (root / "TestSet1.txt").write_text("Images\\" + setname + "\\forest_b2.jpg\n")
    return root


def test_siftflow_original_layout(siftflow_original):
    records = data.siftflow_original(str(siftflow_original))
    assert [r.name for r in records] == ["coast_a1.jpg", "forest_b2.jpg", "street_c3.jpg"]
    assert [r.category for r in records] == ["coast", "forest", "street"]
    labels = data.load_labels(records[1])
    assert labels.shape == (16, 20) and labels.dtype == np.uint8
    assert labels[0, 0] == UNKNOWN_LABEL and labels[5, 5] == 1  # 1-based S -> 0-based class
    assert data.class_names(records) == ["awning", "balcony", "bird"]
    test = data.siftflow_original(str(siftflow_original), "test")
    train = data.siftflow_original(str(siftflow_original), "train")
    assert [r.name for r in test] == ["forest_b2.jpg"]
    assert [r.name for r in train] == ["coast_a1.jpg", "street_c3.jpg"]


def test_siftflow_original_errors(tmp_path, siftflow_original):
    with pytest.raises(data.DatasetError, match="Images"):
        data.siftflow_original(str(tmp_path / "empty"))
    bad = siftflow_original / "SemanticLabels" / "spatial_envelope_256x256_static_8outdoorcategories" / "coast_a1.mat"
    savemat(str(bad), {"X": np.zeros((2, 2))})
    with pytest.raises(data.DatasetError, match="coast_a1.mat.*'S'"):
        data.load_labels(data.siftflow_original(str(siftflow_original))[0])


@pytest.fixture
def data_tree(tmp_path):
    """A miniature data root in the shared layout."""
    root = tmp_path / "root"
    for i, name in enumerate(["coast_x1.jpg", "forest_y2.jpg", "street_z3.jpg"]):
        _img(str(root / "siftflow" / "images" / name), seed=i)
    (root / "siftflow" / "train.txt").write_text("coast_x1.jpg\nforest_y2.jpg\n")
    (root / "siftflow" / "test.txt").write_text("street_z3.jpg\n")
    for i, name in enumerate(["sun_a.jpg", "sun_b.jpg"]):
        _img(str(root / "sun" / "images" / name), 24, 32, seed=10 + i)
    (root / "sun" / "test.txt").write_text("sun_a.jpg\n")
    (root / "sun" / "extra.txt").write_text("sun_b.jpg\n")
    (root / "sun" / "categories.csv").write_text("image,category\nsun_a.jpg,kitchen\nsun_b.jpg,sky\n")
    sb = root / "stanford_background"
    for i, image_id in enumerate(["0001", "0002"]):
        _img(str(sb / "images" / f"{image_id}.jpg"), 12, 14, seed=20 + i)
        labels = np.full((12, 14), i, np.uint8)
        labels[0, 0] = 255
        os.makedirs(sb / "labels", exist_ok=True)
        Image.fromarray(labels).save(sb / "labels" / f"{image_id}.png")
    (sb / "train.txt").write_text("0001\n")
    (sb / "val.txt").write_text("0002\n")
    (sb / "classes.txt").write_text("\n".join(STANFORD_CLASSES) + "\n")
    return root


def test_shared_layout_readers(data_tree):
    root = str(data_tree)
    assert [r.name for r in data.siftflow(root, "train")] == ["coast_x1.jpg", "forest_y2.jpg"]
    assert data.siftflow(root, "test")[0].category == "street"
    sun = data.sun(root, "test")
    assert sun[0].name == "sun_a.jpg" and sun[0].category == "kitchen"
    assert data.sun(root, "extra")[0].category == "sky"
    val = data.stanford_background(root, "val")
    assert val[0].name == "0002.jpg"
    labels = data.load_labels(val[0])
    assert labels[0, 0] == 255 and labels[1, 1] == 1
    assert data.class_names(root) == list(STANFORD_CLASSES)
    assert len(data.load_dataset("stanford", root, "train")) == 1


def test_stanford_original_regions_txt(tmp_path):
    sb = tmp_path / "iccv09Data"
    _img(str(sb / "images" / "0005.jpg"), 3, 4)
    os.makedirs(sb / "labels")
    (sb / "labels" / "0005.regions.txt").write_text("0 1 2 -1\n3 4 5 6\n7 7 -1 0\n")
    records = data.stanford_background(str(sb), "all")
    assert records[0].label_path.endswith(".regions.txt")
    labels = data.load_labels(records[0])
    np.testing.assert_array_equal(labels, [[0, 1, 2, 255], [3, 4, 5, 6], [7, 7, 255, 0]])


def test_label_image_size_mismatch_names_both_files(data_tree):
    record = data.stanford_background(str(data_tree), "val")[0]
    with pytest.raises(data.DatasetError, match="0002.png.*0002.jpg"):
        data.check_labels_match(record, (10, 10, 3), data.load_labels(record))


def test_folder_dataset_is_recursive_and_sorted(tmp_path):
    _img(str(tmp_path / "b" / "deep" / "x.png"))
    _img(str(tmp_path / "a.jpg"))
    (tmp_path / "notes.txt").write_text("not an image")
    records = data.folder_dataset(str(tmp_path))
    assert [r.name for r in records] == ["a.jpg", os.path.join("b", "deep", "x.png")]
    os.makedirs(tmp_path / "b" / "nothing")
    with pytest.raises(data.DatasetError, match="no image files"):
        data.folder_dataset(str(tmp_path / "b" / "nothing"))


def test_batch_reader_skips_and_counts_bad_files(tmp_path):
    _img(str(tmp_path / "good.png"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    records = data.folder_dataset(str(tmp_path))
    skipped = data.SkipCounter()
    with pytest.warns(UserWarning, match="broken.jpg"):
        good = list(data.iter_images(records, skipped))
    assert [r.name for r, _ in good] == ["good.png"]
    assert len(skipped) == 1 and "broken.jpg" in skipped.skipped[0][1]


def test_dataset_errors(tmp_path, data_tree):
    with pytest.raises(data.DatasetError, match="unknown split"):
        data.siftflow(str(data_tree), "val")
    os.makedirs(data_tree / "listless" / "sun" / "images")
    with pytest.raises(data.DatasetError, match="test.txt: list file not found"):
        data.sun(str(data_tree / "listless"), "test")
    with pytest.raises(data.DatasetError, match="unknown dataset"):
        data.load_dataset("imagenet", str(data_tree))
    with pytest.raises(data.DatasetError, match="needs a folder"):
        data.load_dataset("folder")


def test_data_root_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="DEEPCOLOR_DATA"):
        data.resolve_data_root(None)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.resolve_data_root(None) == str(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.resolve_data_root(str(tmp_path / "missing"))


# ---------------------------------------------------------------- the real data


def test_shared_lists_have_documented_sizes(data_root):
    assert len(data.siftflow(data_root, "train")) == 2488
    assert len(data.siftflow(data_root, "test")) == 200
    assert len(data.sun(data_root, "test")) == 1519
    assert len(data.sun(data_root, "extra")) == 1035
    assert len(data.stanford_background(data_root, "train")) == 572
    assert len(data.stanford_background(data_root, "val")) == 143
    general = data.load_dataset("general", data_root, "test")
    assert len(general) == 904 and all(os.path.isfile(r.path) for r in general[:20])
    assert general[0].category == general[0].name.split("/")[0]


def test_general_layout_and_missing_training_part(tmp_path):
    base = tmp_path / "general"
    _img(str(base / "images" / "caltech" / "a.jpg"))
    _img(str(base / "images" / "faces" / "b.jpg"), seed=1)
    (base / "test.txt").write_text("caltech/a.jpg\nfaces/b.jpg\n")
    records = data.load_dataset("general", str(tmp_path), "test")
    assert [(r.name, r.category) for r in records] == [("caltech/a.jpg", "caltech"), ("faces/b.jpg", "faces")]
    with pytest.raises(data.DatasetError, match="train.txt: list file not found; the general set's training"):
        data.load_dataset("general", str(tmp_path), "train")
    with pytest.raises(data.DatasetError, match="unknown split"):
        data.load_dataset("general", str(tmp_path), "val")


@pytest.mark.parametrize("dataset, expected_mean, expected_median", [("siftflow", 22.70, 22.24), ("sun", 22.31, 21.83)])
def test_gray_reproduces_reference_psnr(data_root, dataset, expected_mean, expected_median):
    from deepcolor.core.color import gray_to_rgb, rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr

    values = []
    for record in data.load_dataset(dataset, data_root, "test"):
        gt = load_rgb(record.path)
        values.append(psnr(gt, gray_to_rgb(rgb2gray(gt))))
    assert round(float(np.mean(values)), 2) == expected_mean
    assert round(float(np.median(values)), 2) == expected_median


def test_a_list_entry_given_twice_is_kept_once(tmp_path):
    listing = tmp_path / "train.txt"
    listing.write_text("a.jpg\nb.jpg\na.jpg\n")
    with pytest.warns(UserWarning, match="train.txt: 1 entry listed more than once, kept once: a.jpg"):
        assert data.read_list(str(listing)) == ["a.jpg", "b.jpg"]


def test_an_image_through_a_linked_folder_shares_its_cache_key(tmp_path):
    # validate_settings.py's VALROOT links the image folders: the same image must not be
    # extracted twice because its path goes through a link
    from deepcolor.data.cache import cache_key

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"not an image, only a file")
    os.symlink(tmp_path / "real", tmp_path / "linked")
    config = {"samples": 10}
    assert cache_key(str(tmp_path / "linked" / "a.png"), config) == cache_key(str(tmp_path / "real" / "a.png"), config)
    assert cache_key(str(tmp_path / "real" / "a.png"), {"samples": 11}) != cache_key(str(tmp_path / "real" / "a.png"), config)
