import json
import os

import numpy as np
import pytest
from PIL import Image

from deepcolor.evaluation.benchmark import PredictionsError, match_predictions, read_rows
from deepcolor.cli import build_parser, main
from deepcolor.core.color import gray_to_rgb, rgb2gray
from deepcolor.core.metrics import psnr

from deepcolor import data
def _truth(folder, n=4, size=(18, 22)):
    rng = np.random.default_rng(0)
    images = {}
    for i in range(n):
        rgb = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        name = f"img{i}.png"
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(rgb).save(os.path.join(folder, name))
        images[name] = rgb
    return images


def _bench(*args):
    return main(["benchmark", "--dataset", "folder", "--quiet", *args])


def test_gray_on_a_folder(tmp_path, capsys):
    images = _truth(tmp_path / "gt")
    out = tmp_path / "run"
    assert _bench("--folder", str(tmp_path / "gt"), "--method", "gray", "-o", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("dataset", "split", "method", "n_images", "psnr_mean", "psnr_median", "ssim_mean", "auc_mean", "seconds_median"):
        assert key in summary
    expected = [psnr(rgb, gray_to_rgb(rgb2gray(rgb))) for rgb in images.values()]
    assert summary["n_images"] == 4
    assert summary["psnr_mean"] == pytest.approx(np.mean(expected), abs=1e-9)
    rows = read_rows(out / "per_image.csv")
    assert [r["image"] for r in rows] == sorted(images)
    assert set(rows[0]) >= {"image", "psnr", "ssim", "auc", "colorfulness", "seconds"}
    assert "PSNR mean" in capsys.readouterr().out


def test_existing_results_are_not_overwritten(tmp_path, capsys):
    _truth(tmp_path / "gt")
    args = ("--folder", str(tmp_path / "gt"), "-o", str(tmp_path / "run"))
    assert _bench(*args) == 0
    before = (tmp_path / "run" / "summary.json").read_text()
    assert _bench(*args) == 2
    assert "already holds benchmark results" in capsys.readouterr().err
    assert (tmp_path / "run" / "summary.json").read_text() == before
    assert _bench(*args, "--force") == 0


def test_resume_reuses_scored_images(tmp_path, capsys):
    _truth(tmp_path / "gt")
    out = tmp_path / "run"
    assert _bench("--folder", str(tmp_path / "gt"), "--limit", "2", "-o", str(out)) == 0
    # simulate an interrupted run of the full list: partial rows of the first two images
    os.rename(out / "per_image.csv", out / "per_image.partial.csv")
    os.remove(out / "summary.json")
    run = json.loads((out / "run.json").read_text())
    run["limit"] = None
    (out / "run.json").write_text(json.dumps(run))
    assert _bench("--folder", str(tmp_path / "gt"), "-o", str(out), "--resume") == 0
    assert "2 images already scored, 2 to go" in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["n_images"] == 4
    assert not (out / "per_image.partial.csv").exists()


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    _truth(tmp_path / "gt")
    out = tmp_path / "run"
    (out).mkdir()
    (out / "per_image.partial.csv").write_text("image,category,psnr,ssim,auc,colorfulness,seconds\n")
    (out / "run.json").write_text(json.dumps({"method": "other"}))
    assert _bench("--folder", str(tmp_path / "gt"), "-o", str(out), "--resume") == 2
    assert "different settings" in capsys.readouterr().err


def test_predictions_folder_is_scored(tmp_path):
    images = _truth(tmp_path / "gt")
    for name, rgb in images.items():
        os.makedirs(tmp_path / "pred", exist_ok=True)
        Image.fromarray(rgb).save(tmp_path / "pred" / name.replace(".png", ".bmp"))  # any extension
    out = tmp_path / "run"
    assert _bench("--folder", str(tmp_path / "gt"), "--predictions", str(tmp_path / "pred"), "-o", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "predictions:pred"
    assert summary["psnr_median"] == float("inf")  # identical to ground truth


def test_predictions_mismatch_lists_files(tmp_path, capsys):
    images = _truth(tmp_path / "gt")
    os.makedirs(tmp_path / "pred")
    names = sorted(images)
    Image.fromarray(images[names[0]]).save(tmp_path / "pred" / names[0])
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "pred" / names[1])
    records = data.folder_dataset(str(tmp_path / "gt"))
    with pytest.raises(PredictionsError) as err:
        match_predictions(str(tmp_path / "pred"), records)
    message = str(err.value)
    assert "missing 2: img2.png, img3.png" in message
    assert "img1.png is 5x5, ground truth 22x18" in message
    assert _bench("--folder", str(tmp_path / "gt"), "--predictions", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r")) == 2
    assert "predictions folder not found" in capsys.readouterr().err


def test_unknown_method_and_bad_options(tmp_path, capsys):
    _truth(tmp_path / "gt")
    assert _bench("--folder", str(tmp_path / "gt"), "--method", "nope", "-o", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert "unknown method 'nope'" in err and "gray" in err
    assert _bench("--folder", str(tmp_path / "gt"), "--hints-sweep", "1,2", "-o", str(tmp_path / "r")) == 2
    assert "takes no hints" in capsys.readouterr().err
    assert main(["benchmark", "--dataset", "siftflow", "--data", str(tmp_path / "missing"), "-o", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreadable_ground_truth_is_skipped_and_reported(tmp_path, capsys):
    _truth(tmp_path / "gt", n=2)
    (tmp_path / "gt" / "zbroken.png").write_bytes(b"garbage")
    out = tmp_path / "run"
    assert _bench("--folder", str(tmp_path / "gt"), "-o", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_images"] == 2 and summary["n_skipped"] == 1
    assert "zbroken.png" in summary["skipped"][0]


def test_list_methods(capsys):
    assert main(["benchmark", "--list-methods"]) == 0
    assert "gray" in capsys.readouterr().out


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "benchmark" in commands
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        assert "usage: deepcolor " + name in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("deepcolor ")


def test_harness_on_shared_siftflow_slice(data_root, tmp_path):
    out = tmp_path / "g"
    assert main(["benchmark", "--data", data_root, "--dataset", "siftflow", "--method", "gray",
                 "--limit", "10", "--jobs", "2", "--quiet", "-o", str(out)]) == 0
    rows = read_rows(out / "per_image.csv")
    records = data.siftflow(data_root, "test")[:10]
    assert [r["image"] for r in rows] == [r.name for r in records]
    from deepcolor.core.io import load_rgb

    gt = load_rgb(records[3].path)
    assert rows[3]["psnr"] == pytest.approx(psnr(gt, gray_to_rgb(rgb2gray(gt))), abs=1e-5)


def test_prepare_hook_runs_once_before_the_workers(tmp_path, monkeypatch):
    import dataclasses

    from deepcolor.evaluation import benchmark as bm
    from deepcolor.evaluation import registry as methods

    _truth(tmp_path / "gt", n=6)
    records = data.load_dataset("folder", folder=str(tmp_path / "gt"))
    calls = []
    spec = methods.get_method("gray")
    monkeypatch.setitem(methods._REGISTRY, "gray", dataclasses.replace(spec, prepare=lambda o: calls.append(o)))
    rows = bm.run(records, "gray", {"cache_dir": "C"}, jobs=2, progress=False)
    assert len(rows) == 6 and len(calls) == 1 and calls[0]["cache_dir"] == "C"
    bm.run(records, "gray", {}, jobs=1, progress=False)  # one process: the factory does the work
    assert len(calls) == 1


def test_auto_transfer_prepare_fills_the_gist_cache(tmp_path):
    from test_baselines_cli import _fake_root

    from deepcolor.evaluation.registry import get_method

    _fake_root(tmp_path / "data")
    options = {"data_root": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache"), "jobs": 1, "quiet": True}
    for name in ("welsh-auto", "reinhard-auto"):
        get_method(name).prepare(options)
    assert len(list((tmp_path / "cache" / "reference_gists").glob("*.npz"))) == 1


def test_the_256_protocol_crops_truth_input_and_full_size_predictions(tmp_path):
    import json

    from PIL import Image

    from deepcolor.cli import main
    from deepcolor.core.color import gray_to_rgb, rgb2gray
    from deepcolor.core.metrics import psnr
    from deepcolor.evaluation.benchmark import apply_protocol, read_rows

    rng = np.random.default_rng(5)
    truth = tmp_path / "truth"
    truth.mkdir()
    images = {"wide.png": rng.integers(0, 256, (300, 420, 3), dtype=np.uint8),
              "tall.png": rng.integers(0, 256, (512, 260, 3), dtype=np.uint8)}
    for name, rgb in images.items():
        Image.fromarray(rgb).save(truth / name)
    crop = apply_protocol(images["wide.png"], "256")
    assert crop.shape == (256, 256, 3) and apply_protocol(images["wide.png"], "native") is images["wide.png"]
    out = tmp_path / "gray"
    assert main(["benchmark", "--dataset", "folder", "--folder", str(truth), "--method", "gray", "--protocol", "256",
                 "--quiet", "-o", str(out)]) == 0
    rows = {r["image"]: r for r in read_rows(out / "per_image.csv")}
    assert rows["wide.png"]["psnr"] == pytest.approx(psnr(crop, gray_to_rgb(rgb2gray(crop))), abs=1e-5)
    assert "central 256x256 crop" in json.load(open(out / "summary.json"))["protocol"]
    assert json.load(open(out / "run.json"))["protocol"] == "256"
    # another model's outputs: 256x256 ones are taken as they are, full-size ones are cropped like the truth
    preds = tmp_path / "preds"
    preds.mkdir()
    Image.fromarray(crop).save(preds / "wide.png")
    Image.fromarray(images["tall.png"]).save(preds / "tall.png")
    out = tmp_path / "pred"
    assert main(["benchmark", "--dataset", "folder", "--folder", str(truth), "--predictions", str(preds),
                 "--protocol", "256", "--quiet", "-o", str(out)]) == 0
    rows = read_rows(out / "per_image.csv")
    assert all(np.isinf(r["psnr"]) for r in rows)  # both equal their cropped truth exactly


def test_a_benchmark_worker_hands_freed_memory_back_after_each_chunk(tmp_path, monkeypatch):
    """loky restarts a worker whose memory grew by 300 MB ("A worker stopped while some jobs
    were given to the executor"); glibc keeps freed pages, so the chunk worker trims the heap
    before it returns."""
    import ctypes.util

    from deepcolor.core.parallel import release_freed_memory
    from deepcolor.data import folder_dataset
    from deepcolor.evaluation import benchmark

    def rss_mb():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

    if not os.path.exists("/proc/self/statm") or not ctypes.util.find_library("c"):
        pytest.skip("needs Linux's /proc and a C library with malloc_trim")
    blocks = [bytes(2048) + bytes([i % 256]) for i in range(100_000)]  # 200 MB in malloc'd blocks
    kept = blocks[-1]  # the heap's top stays in use, so only a trim hands the rest back
    del blocks
    before = rss_mb()
    assert release_freed_memory() is True
    assert rss_mb() < before - 100 and kept

    calls = []
    monkeypatch.setattr(benchmark, "release_freed_memory", lambda: calls.append(True))
    _truth(tmp_path / "gt", n=2)
    rows = benchmark._chunk_worker(folder_dataset(str(tmp_path / "gt")), "gray", {}, None)
    assert len(rows) == 2 and calls == [True]
