"""The ``scribble`` and ``transfer`` commands and the baselines' benchmark methods."""

import os

import numpy as np
import pytest
from PIL import Image

from deepcolor.cli import main
from deepcolor.core.color import gray_to_rgb, rgb2gray, rgb2yuv, yuv2rgb
from deepcolor.core.io import load_rgb, save_image
from deepcolor.evaluation.registry import Sample, get_method


def _gradient_rgb(h=40, w=48):
    yy, xx = np.mgrid[:h, :w]
    y = 50 + 150 * xx / (w - 1)
    return yuv2rgb(np.stack([y, 20 * np.sin(yy / 6.0), 20 * np.cos(xx / 7.0)], axis=-1))


@pytest.fixture
def scribble_files(tmp_path):
    rgb = _gradient_rgb()
    gray = rgb2gray(rgb)
    marked = gray_to_rgb(gray)
    marked[5:9, 5:40] = (200, 80, 50)
    marked[30:34, 8:44] = (60, 110, 200)
    paths = {"gray": tmp_path / "gray.png", "marked": tmp_path / "marked.png", "out": tmp_path / "out.png"}
    save_image(paths["gray"], gray)
    save_image(paths["marked"], marked)
    return {k: str(v) for k, v in paths.items()}, gray, marked


def _error(capsys):
    return capsys.readouterr().err


def test_scribble_colorizes(scribble_files):
    paths, gray, marked = scribble_files
    assert main(["scribble", paths["gray"], paths["marked"], "-o", paths["out"]]) == 0
    out = load_rgb(paths["out"])
    in_gamut = ((out > 0) & (out < 255)).all(axis=2)  # bright blue clips at B = 255
    assert in_gamut.mean() > 0.8
    assert np.abs(rgb2gray(out).astype(int) - gray)[in_gamut].max() <= 1
    uv = rgb2yuv(out)[..., 1:]
    assert np.abs(uv[6, 20] - rgb2yuv(marked)[6, 20, 1:]).max() < 2
    assert np.abs(uv).mean() > 5  # the colour spread


def test_scribble_jpeg_marked(scribble_files, tmp_path):
    paths, gray, marked = scribble_files
    jpeg = str(tmp_path / "marked.jpg")
    save_image(jpeg, marked)
    assert main(["scribble", paths["gray"], jpeg, "-o", paths["out"]]) == 0


def test_scribble_explicit_mask(scribble_files, tmp_path):
    paths, gray, marked = scribble_files
    mask = np.zeros(gray.shape, np.uint8)
    mask[5:9, 5:40] = 255  # only the first stroke
    save_image(tmp_path / "mask.png", mask)
    assert main(["scribble", paths["gray"], paths["marked"], "--mask", str(tmp_path / "mask.png"), "-o", paths["out"]]) == 0
    uv = rgb2yuv(load_rgb(paths["out"]))[..., 1:]
    assert np.abs(uv[32, 20] - rgb2yuv(marked)[6, 20, 1:]).max() < 3  # the second stroke was ignored


def test_scribble_refuses_to_overwrite(scribble_files, capsys):
    paths, _, _ = scribble_files
    save_image(paths["out"], np.zeros((2, 2), np.uint8))
    assert main(["scribble", paths["gray"], paths["marked"], "-o", paths["out"]]) == 2
    assert paths["out"] in _error(capsys)
    assert main(["scribble", paths["gray"], paths["marked"], "-o", paths["out"], "--force"]) == 0
    assert load_rgb(paths["out"]).shape == (40, 48, 3)


def test_scribble_size_mismatch(scribble_files, tmp_path, capsys):
    paths, _, marked = scribble_files
    small = str(tmp_path / "small.png")
    save_image(small, marked[:30])
    assert main(["scribble", paths["gray"], small, "-o", paths["out"]]) == 2
    err = _error(capsys)
    assert small in err and "same size" in err
    save_image(tmp_path / "mask.png", np.ones((10, 10), np.uint8))
    assert main(["scribble", paths["gray"], paths["marked"], "--mask", str(tmp_path / "mask.png"), "-o", paths["out"]]) == 2
    assert str(tmp_path / "mask.png") in _error(capsys)
    assert not os.path.exists(paths["out"])


def test_scribble_no_hint(scribble_files, tmp_path, capsys):
    paths, gray, _ = scribble_files
    assert main(["scribble", paths["gray"], paths["gray"], "-o", paths["out"]]) == 2
    err = _error(capsys)
    assert "no hint" in err and paths["gray"] in err
    save_image(tmp_path / "empty.png", np.zeros(gray.shape, np.uint8))
    assert main(["scribble", paths["gray"], paths["marked"], "--mask", str(tmp_path / "empty.png"), "-o", paths["out"]]) == 2
    assert "no hint" in _error(capsys)


def test_scribble_unreadable_files(scribble_files, tmp_path, capsys):
    paths, _, _ = scribble_files
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["scribble", str(bad), paths["marked"], "-o", paths["out"]]) == 2
    assert str(bad) in _error(capsys)
    assert main(["scribble", paths["gray"], str(tmp_path / "missing.png"), "-o", paths["out"]]) == 2
    assert "missing.png" in _error(capsys)
    assert main(["scribble", paths["gray"], paths["marked"], "--mask", str(bad), "-o", paths["out"]]) == 2
    assert str(bad) in _error(capsys)


def test_scribble_output_checks(scribble_files, capsys):
    paths, _, _ = scribble_files
    assert main(["scribble", paths["gray"], paths["marked"], "-o", paths["out"][:-4] + ".xyz"]) == 2
    assert "extension" in _error(capsys)
    assert main(["scribble", paths["gray"], paths["marked"], "-o", paths["marked"], "--force"]) == 2
    assert "input" in _error(capsys)


@pytest.mark.parametrize("method", ["welsh", "reinhard"])
def test_transfer_command(tmp_path, method):
    ref = _gradient_rgb()
    save_image(tmp_path / "ref.png", ref)
    save_image(tmp_path / "gray.png", rgb2gray(ref))
    out = str(tmp_path / "out.png")
    assert main(["transfer", str(tmp_path / "gray.png"), "--reference", str(tmp_path / "ref.png"), "-o", out, "--method", method]) == 0
    result = load_rgb(out)
    assert result.shape == ref.shape
    assert np.abs(rgb2yuv(result)[..., 1:]).mean() > 1


def test_transfer_errors(tmp_path, capsys):
    ref = _gradient_rgb()
    save_image(tmp_path / "ref.png", ref)
    save_image(tmp_path / "gray.png", rgb2gray(ref))
    gray, refp, out = str(tmp_path / "gray.png"), str(tmp_path / "ref.png"), str(tmp_path / "out.png")
    assert main(["transfer", gray, "--reference", str(tmp_path / "nope.jpg"), "-o", out]) == 2
    assert "nope.jpg" in _error(capsys)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    assert main(["transfer", str(tmp_path / "bad.jpg"), "--reference", refp, "-o", out]) == 2
    assert "bad.jpg" in _error(capsys)
    assert main(["transfer", gray, "--reference", refp, "-o", out, "--samples", "0"]) == 2
    assert "--samples" in _error(capsys)
    save_image(out, ref)
    assert main(["transfer", gray, "--reference", refp, "-o", out]) == 2
    assert out in _error(capsys)
    assert main(["transfer", gray, "--reference", refp, "-o", out, "--force"]) == 0
    with pytest.raises(SystemExit):
        main(["transfer", gray, "--reference", refp, "-o", out, "--method", "magic"])


# --------------------------------------------------------------------------- benchmark methods


def test_levin_hints_method():
    spec = get_method("levin-hints")
    assert spec.uses_ground_truth and spec.accepts_hints
    rgb = _gradient_rgb()
    gray = rgb2gray(rgb)
    predict = spec.factory({"hints": 0, "hint_size": 3, "seed": 0})
    np.testing.assert_array_equal(predict(Sample("a.png", gray, rgb, None, 0)), gray_to_rgb(gray))
    predict = spec.factory({"hints": 20, "hint_size": 3, "seed": 0})
    a = predict(Sample("a.png", gray, rgb, None, 0))
    assert a.shape == rgb.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, predict(Sample("a.png", gray, rgb, None, 0)))
    assert not np.array_equal(a, predict(Sample("a.png", gray, rgb, None, 1)))  # seeded by the index
    err_gray = np.abs(gray_to_rgb(gray).astype(float) - rgb).mean()
    assert np.abs(a.astype(float) - rgb).mean() < err_gray
    with pytest.raises(ValueError):
        spec.factory({"hints": 5, "hint_size": 2})


def _fake_root(root, n=3):
    rng = np.random.default_rng(0)
    names = {}
    for folder, list_name, prefix in (("siftflow", "train.txt", "coast_"), ("sun", "extra.txt", "sun_")):
        os.makedirs(root / folder / "images")
        entries = []
        for i in range(n):
            base = rng.integers(40, 200, 3)
            img = np.clip(base + rng.normal(0, 25, (32, 40, 3)), 0, 255).astype(np.uint8)
            name = f"{prefix}{i}.png"
            Image.fromarray(img).save(root / folder / "images" / name)
            entries.append(name)
        (root / folder / list_name).write_text("\n".join(entries) + "\n")
        names[folder] = entries
    return names


def test_auto_methods_with_cached_gists(tmp_path, monkeypatch):
    from deepcolor.evaluation import methods_baselines as bm

    root = tmp_path / "data"
    _fake_root(root)
    options = {"data_root": str(root), "cache_dir": str(tmp_path / "cache"), "jobs": 1, "seed": 0, "quiet": True}
    welsh = get_method("welsh-auto").factory(options)
    cached = list((tmp_path / "cache" / "reference_gists").glob("*.npz"))
    assert len(cached) == 1
    query = load_rgb(root / "sun" / "images" / "sun_1.png")
    gray = rgb2gray(query)
    # the query is itself a reference: it must not be its own colour source
    refs = bm.ReferenceSet(str(root), cache_dir=options["cache_dir"], progress=False)
    assert refs.names[int(refs.ranked(gray)[0])] == "sun/sun_1.png"
    _, chosen = refs.nearest(gray, exclude_name="sun_1.png")
    assert chosen != "sun/sun_1.png"
    _, chosen = refs.nearest(gray)  # same pixels under another name: still skipped
    assert chosen != "sun/sun_1.png"
    out = welsh(Sample("sun_1.png", gray, None, None, 0))
    assert out.shape == query.shape and out.dtype == np.uint8

    # a second factory reads the cache instead of recomputing
    def boom(paths):
        raise AssertionError("gists recomputed despite the cache")

    monkeypatch.setattr(bm, "_gist_chunk", boom)
    reinhard = get_method("reinhard-auto").factory(options)
    assert reinhard(Sample("x.png", gray, None, None, 0)).shape == query.shape
    # a changed list is another key: recomputed
    (root / "sun" / "extra.txt").write_text("sun_0.png\n")
    with pytest.raises(AssertionError, match="recomputed"):
        bm.ReferenceSet(str(root), cache_dir=options["cache_dir"], progress=False)


def test_auto_methods_need_the_lists(tmp_path):
    with pytest.raises(FileNotFoundError, match="train.txt"):
        get_method("welsh-auto").factory({"data_root": str(tmp_path), "cache_dir": str(tmp_path / "c")})


def test_levin_hints_in_the_benchmark_harness(tmp_path):
    folder = tmp_path / "gt"
    folder.mkdir()
    for i in range(3):
        save_image(folder / f"img{i}.png", np.roll(_gradient_rgb(24, 30), 5 * i, axis=1))
    out = tmp_path / "run"
    args = ["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "levin-hints", "--quiet"]
    assert main(args + ["--hints-sweep", "0,20", "-o", str(out)]) == 0
    sweep = (out / "hints_sweep.csv").read_text().splitlines()
    assert len(sweep) == 3
    header = sweep[0].split(",")
    psnr_at = {int(row.split(",")[0]): float(row.split(",")[header.index("psnr_mean")]) for row in sweep[1:]}
    assert psnr_at[20] > psnr_at[0]  # hints help
