"""Scene parser: model shapes, training, resume, label readers, evaluation, CLI."""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from deepcolor.core.metrics import confusion_matrix, segmentation_metrics as metrics  # noqa: E402
from deepcolor.evaluation.parser_eval import write_report  # noqa: E402
from deepcolor.features.scene_parser.model import DEFAULT_CONFIG, build_network  # noqa: E402
from deepcolor.pipeline.parser_training import augment, class_weights, load_checkpoint, train, train_step  # noqa: E402
from deepcolor.features.scene_parser.weights import load_parser, save_parser  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def synthetic_scene(rng, h=48, w=64):
    """Bright smooth 'sky' (0) on top, textured 'tree' (1) in the middle, dark 'road' (2) below."""
    top = int(rng.integers(h // 4, h // 2))
    bottom = int(rng.integers(top + 4, h - 4))
    gray = np.empty((h, w), np.uint8)
    labels = np.empty((h, w), np.uint8)
    gray[:top] = 200 + rng.integers(0, 10, (top, w))
    labels[:top] = 0
    gray[top:bottom] = rng.integers(40, 140, (bottom - top, w))
    labels[top:bottom] = 1
    gray[bottom:] = 60 + rng.integers(0, 5, (h - bottom, w))
    labels[bottom:] = 2
    labels[0, 0] = 255
    return gray, labels


def make_stanford(root, n_train=6, n_val=3, seed=0):
    base = os.path.join(root, "stanford_background")
    os.makedirs(os.path.join(base, "images"))
    os.makedirs(os.path.join(base, "labels"))
    rng = np.random.default_rng(seed)
    ids = [f"{i:07d}" for i in range(n_train + n_val)]
    for image_id in ids:
        gray, labels = synthetic_scene(rng)
        Image.fromarray(np.repeat(gray[..., None], 3, axis=2)).save(os.path.join(base, "images", f"{image_id}.jpg"), quality=95)
        Image.fromarray(labels).save(os.path.join(base, "labels", f"{image_id}.png"))
    with open(os.path.join(base, "train.txt"), "w") as f:
        f.write("\n".join(ids[:n_train]) + "\n")
    with open(os.path.join(base, "val.txt"), "w") as f:
        f.write("\n".join(ids[n_train:]) + "\n")
    with open(os.path.join(base, "classes.txt"), "w") as f:
        f.write("\n".join(["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground"]) + "\n")
    return str(root)


SIFT_NAMES = [f"class{i}" for i in range(33)]
SIFT_NAMES[:3] = ["sky", "tree", "road"]


def make_siftflow(root, n=6, seed=1):
    """A fake original SiftFlowDataset: JPEGs + .mat label maps (S 1-based, 0 unlabeled, names)."""
    from scipy.io import savemat

    sub = "spatial_envelope_256x256_static_8outdoorcategories"
    images = os.path.join(root, "SiftFlowDataset", "Images", sub)
    labels = os.path.join(root, "SiftFlowDataset", "SemanticLabels", sub)
    os.makedirs(images)
    os.makedirs(labels)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        gray, lab = synthetic_scene(rng, 40, 40)
        s = lab.astype(np.float64) + 1
        s[lab == 255] = 0
        s[5, 5] = 33  # the last class appears somewhere
        name = f"coast_fake{i}"
        Image.fromarray(np.repeat(gray[..., None], 3, axis=2)).save(os.path.join(images, name + ".jpg"), quality=95)
        savemat(os.path.join(labels, name + ".mat"), {"S": s, "names": np.array(SIFT_NAMES, dtype=object)})
        names.append(name + ".jpg")
    with open(os.path.join(root, "SiftFlowDataset", "TestSet1.txt"), "w") as f:
        f.write(f"Images\\{sub}\\{names[-1]}\n")
    return os.path.join(root, "SiftFlowDataset")


FAST = dict(epochs=1, batch_size=2, crop=(16, 24), threads=1, progress=False, log=lambda *a: None)


# ----------------------------------------------------------------------------- model

@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (37, 53), (64, 64), (101, 77)])
def test_predict_shape_and_sum_for_any_size(shape, tiny_parser):
    parser = tiny_parser()
    gray = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    prob = parser.predict(gray)
    assert prob.shape == shape + (8,)
    assert prob.dtype == np.float32
    assert np.allclose(prob.sum(axis=2), 1, atol=1e-5)
    assert (prob >= 0).all()


def test_predict_deterministic(tiny_parser):
    parser = tiny_parser()
    gray = np.random.default_rng(1).integers(0, 256, (45, 61), dtype=np.uint8)
    a, b = parser.predict(gray), parser.predict(gray.copy())
    assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [np.zeros((4, 5, 3), np.uint8), np.zeros((0, 5), np.uint8), np.zeros(7, np.uint8),
                                 np.zeros((4, 4), bool), np.full((4, 4), np.nan)])
def test_predict_rejects_bad_input(bad, tiny_parser):
    with pytest.raises(ValueError):
        tiny_parser().predict(bad)


def test_network_pads_to_stride():
    net = build_network(dict(DEFAULT_CONFIG))
    assert net.stride == 8
    out = net.eval()(torch.zeros(1, 2, 16, 24))
    assert out.shape == (1, 8, 16, 24)


# ----------------------------------------------------------------------------- training

def test_training_step_reduces_loss(tiny_parser):
    rng = np.random.default_rng(0)
    parser = tiny_parser(3)
    net = parser.net
    samples = [synthetic_scene(rng, 24, 32) for _ in range(4)]
    from deepcolor.features.scene_parser.model import make_input

    x = torch.from_numpy(np.stack([make_input(g, 0.45, 0.25) for g, _ in samples]))
    y = torch.from_numpy(np.stack([lab.astype(np.int64) for _, lab in samples]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    torch.manual_seed(0)
    losses = [train_step(net, opt, x, y) for _ in range(25)]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])


def test_augment_keeps_labels_aligned_and_sized():
    rng = np.random.default_rng(3)
    gray, labels = synthetic_scene(rng)
    for _ in range(10):
        g, lab, y0, sh = augment(gray, labels, rng, scale=0.5, crop=(20, 40))
        assert g.shape == (20, 40) and lab.shape == (20, 40)
        assert set(np.unique(lab)) <= {0, 1, 2, 255}
        assert 0 <= g.min() and g.max() <= 255


def test_class_weights():
    assert class_weights([0.5, 0.5], "none") is None
    w = class_weights([0.8, 0.2, 0.0], "inverse")
    assert w[2] == 0 and w[1] > w[0] and np.isclose(w[:2].mean(), 1)
    with pytest.raises(ValueError):
        class_weights([1.0], "bogus")


def test_train_and_resume_stanford(tmp_path):
    root = make_stanford(tmp_path / "data")
    out = str(tmp_path / "run")
    # a 2-epoch run stopped after its first epoch (as if killed) ...
    hist = train("stanford", root, out, **dict(FAST, epochs=2), time_limit=0)
    assert len(hist) == 1 and "val_pixel_accuracy" in hist[0]
    for name in ("checkpoint.pt", "parser.safetensors", "config.json", "best.parser.safetensors", "history.json"):
        assert os.path.isfile(os.path.join(out, name))
    # a second run into the same folder without resume is refused
    with pytest.raises(FileExistsError):
        train("stanford", root, out, **FAST)
    # ... resumes from epoch 1 to 2 ...
    hist = train("stanford", root, out, **dict(FAST, epochs=None), resume=True)
    assert [h["epoch"] for h in hist] == [1, 2]
    assert load_checkpoint(os.path.join(out, "checkpoint.pt"))["epoch"] == 2
    # ... and gives the same weights as an uninterrupted 2-epoch run
    straight = str(tmp_path / "straight")
    train("stanford", root, straight, **dict(FAST, epochs=2))
    a, b = load_parser(out, device="cpu", cache=False), load_parser(straight, device="cpu", cache=False)
    for (ka, va), (kb, vb) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert ka == kb and torch.allclose(va.float(), vb.float(), atol=1e-5), ka
    assert load_parser(out, device="cpu").config["trained_epochs"] == 2


def test_resume_without_checkpoint_fails(tmp_path):
    root = make_stanford(tmp_path / "data")
    with pytest.raises(FileNotFoundError):
        train("stanford", root, str(tmp_path / "nothing"), **FAST, resume=True)


def test_train_on_original_siftflow_mat_labels(tmp_path):
    base = make_siftflow(tmp_path)
    from deepcolor import data
    recs = data.siftflow_original(base, "train")
    assert len(recs) == 5 and recs[0].label_path.endswith(".mat")
    lab = data.load_labels(recs[0])
    assert lab.dtype == np.uint8 and lab[0, 0] == 255 and lab[5, 5] == 32 and lab.max() == 255
    assert data.class_names(recs) == SIFT_NAMES
    out = str(tmp_path / "run")
    hist = train("siftflow", base, out, **FAST)
    assert len(hist) == 1
    parser = load_parser(out, device="cpu")
    assert parser.num_classes == 33 and parser.class_names == SIFT_NAMES
    assert parser.predict(np.zeros((40, 40), np.uint8)).shape == (40, 40, 33)


def test_label_image_size_mismatch_names_the_file(tmp_path):
    root = make_stanford(tmp_path / "data")
    label = tmp_path / "data" / "stanford_background" / "labels" / "0000000.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(label)
    with pytest.raises(ValueError, match="0000000"):
        train("stanford", root, str(tmp_path / "run"), **FAST)


def test_label_out_of_range_is_an_error(tmp_path):
    root = make_stanford(tmp_path / "data")
    label = tmp_path / "data" / "stanford_background" / "labels" / "0000001.png"
    lab = np.asarray(Image.open(label)).copy()
    lab[3, 3] = 9
    Image.fromarray(lab).save(label)
    with pytest.raises(ValueError, match="0000001.png"):
        train("stanford", root, str(tmp_path / "run"), **FAST)


# ----------------------------------------------------------------------------- weights and evaluation

def test_save_load_roundtrip(tmp_path, tiny_parser):
    parser = tiny_parser(5)
    save_parser(str(tmp_path), parser.net, parser.config)
    loaded = load_parser(str(tmp_path), device="cpu", cache=False)
    gray = np.random.default_rng(2).integers(0, 256, (30, 41), dtype=np.uint8)
    assert np.allclose(parser.predict(gray), loaded.predict(gray), atol=1e-6)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "parser.safetensors"), framework="pt") as f:  # safetensors, not a pickle
        assert "head.weight" in f.keys()
    with pytest.raises(FileNotFoundError):
        load_parser(str(tmp_path / "missing"))


def test_metrics_and_report(tmp_path):
    labels = np.array([[0, 0, 1, 255], [1, 2, 2, 2]])
    pred = np.array([[0, 1, 1, 0], [1, 2, 2, 0]])
    conf = confusion_matrix(labels, pred, 3)
    assert conf.sum() == 7 and conf[0, 0] == 1 and conf[2, 0] == 1
    m = metrics(conf, ["a", "b", "c"])
    assert np.isclose(m["pixel_accuracy"], 5 / 7)
    assert np.isclose(m["per_class_iou"]["b"], 2 / 3)
    assert np.isclose(m["mean_iou"], np.mean([1 / 3, 2 / 3, 2 / 3]))
    summary = write_report(str(tmp_path), conf, ["a", "b", "c"])
    assert json.load(open(tmp_path / "summary.json"))["pixel_accuracy"] == summary["pixel_accuracy"]
    png = np.asarray(Image.open(tmp_path / "confusion.png"))
    assert png.ndim == 3 and png.shape[2] == 3


def test_cli_eval_parser(tmp_path, capsys, tiny_parser):
    from deepcolor.cli import main

    root = make_stanford(tmp_path / "data")
    parser = tiny_parser()
    save_parser(str(tmp_path / "model"), parser.net, dict(parser.config, class_names=["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground"]))
    out = tmp_path / "eval"
    rc = main(["eval-parser", "--data", root, "--split", "val", "--model", str(tmp_path / "model"), "-o", str(out), "--quiet"])
    assert rc == 0
    summary = json.load(open(out / "summary.json"))
    assert summary["images"] == 3 and 0 <= summary["pixel_accuracy"] <= 1
    assert len(summary["per_class_iou"]) == 8 and os.path.isfile(out / "confusion.png")
    assert "pixel accuracy" in capsys.readouterr().out


def test_cli_train_parser_errors(tmp_path, capsys):
    from deepcolor.cli import main

    root = make_stanford(tmp_path / "data")
    assert main(["train-parser", "--data", root, "-o", str(tmp_path / "r"), "--resume", "--quiet"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["train-parser", "--data", root, "-o", str(tmp_path / "r"), "--epochs", "0"]) == 2


@pytest.mark.parametrize("name, dataset, split, classes", [("stanford8", "stanford", "val", 8),
                                                             ("siftflow33", "siftflow", "test", 33)])
def test_shipped_parsers_on_held_out_images(data_root, name, dataset, split, classes):
    """Each shipped parser is accurate on a few images it never trained on (grayscale input)."""
    from deepcolor import data
    from deepcolor.core.io import load_gray
    from deepcolor.core.paths import resolve_parser

    parser = load_parser(resolve_parser(name))
    assert parser.num_classes == classes
    conf = np.zeros((classes, classes), np.int64)
    for rec in data.parser_dataset(dataset, data_root, split)[:10]:
        conf += confusion_matrix(data.load_labels(rec), parser.labels(load_gray(rec.path)), classes)
    assert metrics(conf)["pixel_accuracy"] > 0.6


def make_siftflow_shared(root, n_train=20, n_test=5, seed=2):
    """A fake data root in the shared layout: siftflow/{images,labels}/, classes.txt, train/test lists."""
    base = os.path.join(root, "siftflow")
    os.makedirs(os.path.join(base, "images"))
    os.makedirs(os.path.join(base, "labels"))
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n_train + n_test):
        gray, lab = synthetic_scene(rng, 40, 40)
        lab[5, 5] = 32  # the last class appears somewhere
        name = f"{'coast' if i % 2 else 'forest'}_fake{i}.jpg"
        Image.fromarray(np.repeat(gray[..., None], 3, axis=2)).save(os.path.join(base, "images", name), quality=95)
        Image.fromarray(lab).save(os.path.join(base, "labels", name.replace(".jpg", ".png")))
        names.append(name)
    with open(os.path.join(base, "classes.txt"), "w") as handle:
        handle.write("\n".join(SIFT_NAMES) + "\n")
    for split, part in (("train", names[:n_train]), ("test", names[n_train:])):
        with open(os.path.join(base, f"{split}.txt"), "w") as handle:
            handle.write("\n".join(part) + "\n")
    return str(root)


def test_siftflow_shared_label_layout_and_parser_splits(tmp_path):
    from deepcolor import data

    root = make_siftflow_shared(tmp_path / "data")
    train_recs = data.parser_dataset("siftflow", root, "train")
    val = data.parser_dataset("siftflow", root, "val")
    test = data.parser_dataset("siftflow", root, "test")
    assert (len(train_recs), len(val), len(test)) == (18, 2, 5)
    assert {r.name for r in val} == {"coast_fake9.jpg", "coast_fake19.jpg"}  # every 10th training image
    assert not {r.name for r in train_recs + val} & {r.name for r in test}  # the test list is never trained on
    lab = data.load_labels(test[0])
    assert lab.dtype == np.uint8 and lab[5, 5] == 32 and lab.shape == (40, 40)
    assert data.class_names(train_recs) == SIFT_NAMES
    # the colorization reader still works, now with the label paths filled in
    assert data.siftflow(root, "test")[0].label_path.endswith("forest_fake20.png")
    os.remove(os.path.join(root, "siftflow", "labels", "coast_fake3.png"))
    with pytest.raises(data.DatasetError, match="coast_fake3.png: label map not found"):
        data.parser_dataset("siftflow", root, "train")


def test_train_and_evaluate_a_33_class_parser_on_the_shared_layout(tmp_path, capsys):
    from deepcolor.cli import main

    root = make_siftflow_shared(tmp_path / "data")
    out = str(tmp_path / "run")
    hist = train("siftflow", root, out, **FAST)
    assert len(hist) == 1
    parser = load_parser(out, device="cpu")
    assert parser.num_classes == 33 and parser.class_names == SIFT_NAMES
    assert main(["eval-parser", "--data", root, "--dataset", "siftflow", "--split", "test", "--model", out,
                 "-o", str(tmp_path / "eval"), "--quiet"]) == 0
    summary = json.load(open(tmp_path / "eval" / "summary.json"))
    assert summary["images"] == 5 and 0 <= summary["mean_class_accuracy"] <= 1 and "mean_iou" in summary
    assert "mean class accuracy" in capsys.readouterr().out
