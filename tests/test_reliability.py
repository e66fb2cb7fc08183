"""Damaged models, batches that continue, outputs that mean what they say, errors as sentences.

Each case of the reliability issue has a test here; the fuzz test of readers and the
model loader is ``tests/test_fuzz.py``.
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import make_images as _images

from deepcolor.cli import main


@pytest.fixture
def model_copy(trained, tmp_path):
    """A copy of the trained model that a test may damage."""
    dest = tmp_path / "model"
    shutil.copytree(trained["model"], dest)
    return str(dest)


def _config(model):
    with open(os.path.join(model, "model.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _write_config(model, config, checksum=True):
    """Write ``model.json``; with ``checksum`` its checksum is recomputed, so that the
    schema check (not the checksum) has to catch what is wrong."""
    from deepcolor.pipeline.model_dir import with_checksum

    if checksum and isinstance(config, dict) and "checksum" in config:
        config = with_checksum(config)
    with open(os.path.join(model, "model.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle)


def _as_old_model(model):
    """Drop what older deepcolor versions did not record: the file hashes and the checksum."""
    config = _config(model)
    config.pop("files")
    config.pop("checksum")
    _write_config(model, config)
    return config


def _cut_in_half(path):
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])


def _flip_bytes(path, count=4, seed=0):
    data = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(seed)
    header = 8 + int.from_bytes(data[:8], "little")
    for pos in rng.integers(header, len(data), count):  # in the tensor data, so the file still parses
        data[pos] ^= 0xFF
    open(path, "wb").write(bytes(data))


def test_training_records_the_hash_of_every_weight_file(trained):
    from deepcolor.core.provenance import sha256_file

    files = _config(trained["model"])["files"]
    assert any(f.startswith("networks/") for f in files) and "parser/parser.safetensors" in files
    for rel, digest in files.items():
        assert sha256_file(os.path.join(trained["model"], rel)) == digest
    assert main(["check-model", trained["model"]]) == 0


@pytest.mark.parametrize("damage", ["cut", "flip"])
def test_a_damaged_network_fails_only_the_images_that_need_it(trained, model_copy, tmp_path, capsys, damage):
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.pipeline import Colorizer

    sound = Colorizer.load(trained["model"])
    names = sorted(os.listdir(trained["images"]))
    chosen = {n: sound.select(rgb2gray(load_rgb(os.path.join(trained["images"], n)))).cluster.network for n in names}
    broken = chosen[names[0]]
    (_cut_in_half if damage == "cut" else _flip_bytes)(os.path.join(model_copy, broken))
    out = tmp_path / "out"
    assert main(["colorize", trained["images"], "-o", str(out), "--model", model_copy, "--quiet"]) == 1
    err = capsys.readouterr().err
    need = [n for n in names if chosen[n] == broken]
    assert err.count("failed:") == len(need) and "damaged" in err and broken.split("/")[-1] in err
    assert "Traceback" not in err
    assert sorted(os.listdir(out)) == sorted(n for n in names if n not in need)
    assert f"colorized {len(names) - len(need)} of {len(names)}" in err


def test_a_flipped_network_without_hashes_is_still_caught_when_unreadable(model_copy, trained, tmp_path, capsys):
    config = _as_old_model(model_copy)
    _cut_in_half(os.path.join(model_copy, config["clusters"][0]["network"]))
    assert main(["colorize", trained["images"], "-o", str(tmp_path / "o"), "--model", model_copy, "--quiet",
                 "--blend", "2"]) == 1
    err = capsys.readouterr().err
    assert "records no file hashes" in err  # the one-line note about an older model
    assert "damaged or cut short" in err and "Traceback" not in err


@pytest.mark.parametrize("case, message", [
    ("parser-cut", "parser.safetensors: contents differ"),
    ("json-list", "expected a JSON object, got list"),
    ("json-garbage", "not valid JSON"),
    ("bad-network-field", "field 'clusters[0].network' must be a file inside the model's networks/ folder"),
    ("bad-centre", "field 'clusters[1].centre' must be a list of 512 numbers"),
    ("bad-hash", "field \"files['networks/L0_C000.safetensors']\" must be a SHA-256 hex digest"),
    ("edited-digit", "contents differ from its recorded checksum"),
])
def test_damaged_model_files_are_refused_at_load(model_copy, trained, tmp_path, capsys, case, message):
    config = _config(model_copy)
    if case == "parser-cut":
        _cut_in_half(os.path.join(model_copy, "parser", "parser.safetensors"))
    elif case == "json-list":
        _write_config(model_copy, [1, 2, 3])
    elif case == "json-garbage":
        open(os.path.join(model_copy, "model.json"), "w").write('{"format": "deepcolor-model", "vers')
    elif case == "bad-network-field":
        config["clusters"][0]["network"] = "../../elsewhere.safetensors"
        _write_config(model_copy, config)
    elif case == "bad-centre":
        config["clusters"][1]["centre"] = config["clusters"][1]["centre"][:10]
        _write_config(model_copy, config)
    elif case == "bad-hash":
        config["files"]["networks/L0_C000.safetensors"] = "abc"
        _write_config(model_copy, config)
    elif case == "edited-digit":  # parses, passes the schema, would colorize differently: the checksum catches it
        config["clusters"][0]["centre"][3] += 0.25
        _write_config(model_copy, config, checksum=False)
    out = tmp_path / "out.png"
    src = os.path.join(trained["images"], "p0.png")
    assert main(["colorize", src, "-o", str(out), "--model", model_copy]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
    assert main(["check-model", model_copy]) == 1


def test_check_model_lists_every_damaged_file_and_add_hashes_for_old_models(model_copy, capsys):
    config = _config(model_copy)
    nets = [c["network"] for c in config["clusters"]]
    _flip_bytes(os.path.join(model_copy, nets[0]))
    _cut_in_half(os.path.join(model_copy, nets[1]))
    assert main(["check-model", model_copy]) == 1
    err = capsys.readouterr().err
    assert os.path.basename(nets[0]) in err and os.path.basename(nets[1]) in err
    assert main(["check-model", model_copy, "--add-hashes"]) == 1  # never records hashes over damage
    _as_old_model(model_copy)
    assert main(["check-model", model_copy]) == 1  # the cut file cannot load even without hashes
    assert "damaged or cut short" in capsys.readouterr().err


def test_old_model_gains_hashes(model_copy, capsys):
    _as_old_model(model_copy)
    assert main(["check-model", model_copy]) == 0
    assert "records no file hashes" in capsys.readouterr().err
    assert main(["check-model", model_copy, "--add-hashes"]) == 0
    assert _config(model_copy)["files"] and main(["check-model", model_copy]) == 0


def test_interrupted_batch_reports_and_continues_with_skip_existing(trained, tmp_path, capsys, monkeypatch):
    from deepcolor.pipeline import Colorizer

    out = tmp_path / "out"
    real = Colorizer.colorize
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "colorize", interrupted)
    assert main(["colorize", trained["images"], "-o", str(out), "--model", trained["model"], "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "stopped: 3 colorized, 0 skipped (existed), 0 failed, 5 left" in err and "--skip-existing" in err
    monkeypatch.setattr(Colorizer, "colorize", real)
    assert main(["colorize", trained["images"], "-o", str(out), "--model", trained["model"], "--quiet",
                 "--skip-existing"]) == 0
    assert "colorized 5 of 8 image(s); 3 skipped (existed)" in capsys.readouterr().err
    assert main(["colorize", trained["images"], "-o", str(out), "--model", trained["model"], "--quiet"]) == 1
    assert capsys.readouterr().err.count("exists (use --force to replace it, or --skip-existing") == 8
    assert len(os.listdir(out)) == 8


def test_sigterm_stops_cleanly_and_stale_temporaries_are_removed(trained, tmp_path):
    images = _images(str(tmp_path / "big"), n=30, size=(300, 400))
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".p0.png.tmp-999999"  # what a SIGKILLed run leaves (no process has this id)
    stale.write_bytes(b"half")
    proc = subprocess.Popen([sys.executable, "-m", "deepcolor", "colorize", images, "-o", str(out), "--model",
                             trained["model"], "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len([f for f in os.listdir(out) if not f.startswith(".")]) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped:" in err and "left" in err and "Traceback" not in err
    assert not [f for f in os.listdir(out) if f.startswith(".")], "temporary files left behind"


def test_outputs_mean_what_they_say(trained, tmp_path, capsys):
    images = trained["images"]
    src = os.path.join(images, "p0.png")
    assert main(["colorize", images, "-o", str(tmp_path / "multi.png"), "--model", trained["model"]]) == 2
    assert "several inputs need an output folder" in capsys.readouterr().err
    assert main(["colorize", src, "-o", str(tmp_path / "out.xyz"), "--model", trained["model"]]) == 2
    assert "unknown image extension '.xyz'; use one of .jpg" in capsys.readouterr().err
    assert not (tmp_path / "multi.png").exists() and not (tmp_path / "out.xyz").exists()
    # an output folder inside the input folder is never read as input
    data = tmp_path / "d"
    shutil.copytree(images, data)
    for _ in range(2):
        main(["colorize", str(data), "-o", str(data / "sub"), "--model", trained["model"], "--quiet",
              "--skip-existing"])
    assert not (data / "sub" / "sub").exists() and len(os.listdir(data / "sub")) == 8
    # a file where a folder should be: a sentence, not an errno
    (tmp_path / "afile").write_text("x")
    assert main(["colorize", src, "-o", str(tmp_path / "afile" / "sub"), "--model", trained["model"]]) == 1
    err = capsys.readouterr().err
    assert "a file stands where a folder is needed" in err and "Errno" not in err


def test_written_files_follow_the_umask(trained, tmp_path):
    from deepcolor.core.files import umask_mode

    mode = umask_mode()
    model = trained["model"]
    for rel in _config(model)["files"]:
        assert stat.S_IMODE(os.stat(os.path.join(model, rel)).st_mode) == mode, rel
    assert stat.S_IMODE(os.stat(os.path.join(model, "model.json")).st_mode) == mode
    out = tmp_path / "o.png"
    assert main(["colorize", os.path.join(trained["images"], "p1.png"), "-o", str(out), "--model", model]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == mode


@pytest.mark.parametrize("argv, message", [
    (["--blend", "1000"], "--blend 1000 exceeds the 2 clusters"),
    (["--stride", "5000"], "--stride must be <= 64, got 5000"),
    (["--lookup-k", "0"], "--lookup-k must be >= 1, got 0"),
])
def test_colorize_option_ranges(trained, tmp_path, capsys, argv, message):
    src = os.path.join(trained["images"], "p0.png")
    assert main(["colorize", src, "-o", str(tmp_path / "o.png"), "--model", trained["model"]] + argv) == 2
    assert message in capsys.readouterr().err


def test_read_only_and_other_os_errors_read_as_sentences():
    import errno

    from deepcolor.commands.common import describe_error

    message, status = describe_error(OSError(errno.EROFS, "Read-only file system", "/mnt/ro/.out.png.tmp-27711"))
    assert status == 2 and message == "/mnt/ro/out.png: cannot write here: the file system is read-only; " \
                                      "choose another output"
    assert "Errno" not in describe_error(PermissionError(errno.EACCES, "Permission denied", "/x"))[0]


def test_train_parser_without_data_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DEEPCOLOR_DATA", raising=False)
    out = tmp_path / "parser"
    assert main(["train-parser", "-o", str(out)]) == 2
    assert "no data root" in capsys.readouterr().err
    assert not out.exists()


def test_train_accepts_the_folder_syntax_of_the_benchmark(trained, tmp_path, capsys):
    assert main(["train", "--dataset", "sun:extra", "--folder", trained["images"], "-o", str(tmp_path / "m")]) == 2
    assert "--folder goes with --dataset folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train-parser", "eval-parser", "check-model", "colorize", "report"])
def test_help_has_examples_and_every_option_a_text(command, capsys):
    from deepcolor.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    assert "examples:" in sub.epilog
    assert all(a.help for a in sub._actions), [a.dest for a in sub._actions if not a.help]
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "%%" not in capsys.readouterr().out


def test_a_resumed_training_removes_what_a_killed_run_left(trained, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(trained["model"], model)
    stale = model / "networks" / ".L0_C000.safetensors.tmp-999999"
    stale.write_bytes(b"half a network")
    live = model / "networks" / f".L0_C001.safetensors.tmp-{os.getpid()}"  # a writer still running
    live.write_bytes(b"in progress")
    assert main(["train", "--dataset", "folder", "--folder", trained["images"], "-o", str(model), "--clusters", "2",
                 "--mu", "4", "--samples", "100", "--epochs", "2", "--parser", str(trained["base"] / "parser"),
                 "--cache", str(trained["base"] / "cache"), "--quiet", "--blend", "1", "--resume"]) == 0
    assert not stale.exists() and live.exists()
