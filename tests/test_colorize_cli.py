"""``deepcolor train`` and ``deepcolor colorize`` on a tiny generated dataset: outputs and error paths."""

import os

import numpy as np
import pytest
from PIL import Image

from deepcolor.cli import main
from deepcolor.core.color import rgb2gray


@pytest.fixture(scope="module")
def setup(trained, tmp_path_factory):
    """A private copy of the shared small model (conftest's ``trained``): these tests resume and change it."""
    import shutil

    base = tmp_path_factory.mktemp("cli") / "base"
    shutil.copytree(trained["base"], base)
    return {"base": base, "images": str(base / "images"), "model": str(base / "model")}


def test_train_writes_model_and_manifest(setup, capsys):
    import json

    manifest = json.load(open(os.path.join(setup["model"], "manifest.json")))
    assert manifest["data"]["images_used"] == 8 and manifest["settings"]["training"]["clusters"] == 2
    assert "training_seconds_this_run" in manifest and "git_commit" in manifest
    assert manifest["data_terms"] == {"folder": "your own images: your terms"} and manifest["engine"] == "joblib"
    # a second run into the same folder needs --resume or --force
    args = ["train", "--dataset", f"folder:{setup['images']}", "-o", setup["model"], "--clusters", "2", "--mu", "4",
            "--samples", "100", "--epochs", "2", "--parser", str(setup["base"] / "parser"),
            "--cache", str(setup["base"] / "cache"), "--quiet"]
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    # colorization-only settings may change on resume; they go into model.json
    assert main(args + ["--resume", "--blend", "3", "--predict-stride", "1"]) == 0
    assert "layer" in capsys.readouterr().out  # the hierarchy summary
    model = json.load(open(os.path.join(setup["model"], "model.json")))
    assert model["lookup"]["blend"] == 3 and model["predict_stride"] == 1
    resumed = json.load(open(os.path.join(setup["model"], "manifest.json")))
    assert resumed["previous_runs"][0]["started_utc"] == manifest["started_utc"]
    assert main(args + ["--resume", "--epochs", "3"]) == 2
    assert "settings differ" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "nosuch:train", "-o", "X"], "unknown dataset"),
    (["train", "--dataset", "siftflow", "--data", ".", "-o", "X"], "NAME:SPLIT"),
    (["train", "--dataset", "folder:/no/such/folder", "-o", "X"], "not found"),
    (["train", "--clusters", "0", "-o", "X"], "--clusters"),
])
def test_train_user_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_colorize_folder_and_single_file(setup, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["colorize", setup["images"], "-o", str(out), "--model", setup["model"], "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "cluster L0_C" in err and "colorized 8 of 8" in err
    src = np.asarray(Image.open(os.path.join(setup["images"], "p1.png")))
    res = np.asarray(Image.open(out / "p1.png"))
    assert res.shape == src.shape
    assert np.abs(rgb2gray(res).astype(int) - rgb2gray(src).astype(int)).mean() < 1.0  # luminance kept
    single = tmp_path / "one.jpg"
    gray_in = tmp_path / "gray.png"
    Image.fromarray(rgb2gray(src)).save(gray_in)
    assert main(["colorize", str(gray_in), "-o", str(single), "--model", setup["model"], "--refine", "none"]) == 0
    assert np.asarray(Image.open(single)).shape == src.shape


def test_colorize_never_overwrites_without_force(setup, tmp_path, capsys):
    out = tmp_path / "o.png"
    src = os.path.join(setup["images"], "p0.png")
    assert main(["colorize", src, "-o", str(out), "--model", setup["model"]]) == 0
    before = out.read_bytes()
    assert main(["colorize", src, "-o", str(out), "--model", setup["model"], "--refine", "none"]) == 1
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["colorize", src, "-o", str(out), "--model", setup["model"], "--refine", "none", "--force"]) == 0
    # an input is never overwritten, even with --force
    copy = tmp_path / "in.png"
    copy.write_bytes(open(src, "rb").read())
    assert main(["colorize", str(copy), "-o", str(copy), "--model", setup["model"], "--force"]) == 1
    assert copy.read_bytes() == open(src, "rb").read()
    assert "input" in capsys.readouterr().err


def test_colorize_batch_continues_past_bad_files(setup, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "good.png").write_bytes(open(os.path.join(setup["images"], "p2.png"), "rb").read())
    out = tmp_path / "res"
    assert main(["colorize", str(folder / "*.png"), "-o", str(out), "--model", setup["model"]]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "1 failed" in err
    assert (out / "good.png").exists() and not (out / "broken.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["colorize", "/no/such/file.png", "-o", "x"], "no such file"),
    (["colorize", "/no/such/*.png", "-o", "x"], "matches"),
])
def test_colorize_user_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_colorize_missing_model(setup, tmp_path, capsys):
    src = os.path.join(setup["images"], "p0.png")
    assert main(["colorize", src, "-o", str(tmp_path / "o"), "--model", str(tmp_path / "none")]) == 2
    assert "model" in capsys.readouterr().err


def test_colorize_lookup_options(setup, tmp_path, capsys):
    src = os.path.join(setup["images"], "p3.png")
    assert main(["colorize", src, "-o", str(tmp_path / "a.png"), "--model", setup["model"], "--lookup-k", "1",
                 "--lookup-layers", "1", "--verbose"]) == 0
    assert "(layer 0)" in capsys.readouterr().err
    assert main(["colorize", src, "-o", str(tmp_path / "b.png"), "--model", setup["model"], "--lookup-k", "0"]) == 2


def test_colorize_blend_and_stride(setup, tmp_path, capsys):
    from PIL import Image

    src = os.path.join(setup["images"], "p3.png")
    assert main(["colorize", src, "-o", str(tmp_path / "a.png"), "--model", setup["model"], "--blend", "2",
                 "--stride", "1", "--verbose"]) == 0
    assert "blended: " in capsys.readouterr().err
    assert Image.open(tmp_path / "a.png").size == Image.open(src).size
    for flag in ("--blend", "--stride"):
        assert main(["colorize", src, "-o", str(tmp_path / "b.png"), "--model", setup["model"], flag, "0"]) == 2
        assert f"{flag} must be >= 1, got 0" in capsys.readouterr().err
