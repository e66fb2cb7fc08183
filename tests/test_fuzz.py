"""Fuzz the image reader and the model loader with seeded random damage.

Every case must end in a clean error (the exception types the command line turns into
one sentence) or a correct result: never another exception, never a hang, never a
silently different colorization from a damaged model. Seeded, a few hundred cases, a
bounded time (each case is timed; the whole module takes seconds).
"""

import io
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from deepcolor.core.io import ImageReadError, load_rgb

#: The errors a damaged input may raise (the command line prints each as one sentence).
CLEAN = (ValueError, OSError)
CASE_SECONDS = 10.0


def _damage(data, rng):
    """A random truncation, byte flips, a zeroed run, or a duplicated run of ``data``."""
    data = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:
        return bytes(data[: int(rng.integers(0, len(data)))]), "truncated"
    if kind == 1:
        for pos in rng.integers(0, len(data), int(rng.integers(1, 9))):
            data[pos] ^= int(rng.integers(1, 256))
        return bytes(data), "flipped"
    start = int(rng.integers(0, len(data)))
    length = int(rng.integers(1, 64))
    if kind == 2:
        data[start:start + length] = bytes(min(length, len(data) - start))
        return bytes(data), "zeroed"
    return bytes(data[:start] + data[start:start + length] + data[start:]), "duplicated"


def _encoded_images():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    out = {}
    for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("TIFF", ".tif"), ("GIF", ".gif")):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt)
        out[ext] = buf.getvalue()
    return out


def test_image_reader_fuzz(tmp_path):
    rng = np.random.default_rng(2024)
    images = _encoded_images()
    outcomes = {"read": 0, "refused": 0}
    for case in range(150):
        ext = list(images)[case % len(images)]
        data, how = _damage(images[ext], rng)
        path = tmp_path / f"case{case}{ext}"
        path.write_bytes(data)
        t0 = time.perf_counter()
        try:
            rgb = load_rgb(path)
        except ImageReadError as exc:
            assert str(path) in str(exc), exc  # the message names the file
            outcomes["refused"] += 1
        else:
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size
            outcomes["read"] += 1
        assert time.perf_counter() - t0 < CASE_SECONDS, f"case {case} ({how} {ext}) took too long"
    assert outcomes["refused"] > 20 and outcomes["read"] > 5, outcomes  # the fuzzing reaches both outcomes


@pytest.fixture(scope="module")
def reference(trained):
    """The sound model's colorization of one image, and the files that may be damaged."""
    from deepcolor.pipeline import Colorizer

    gray = np.asarray(Image.open(os.path.join(trained["images"], "p1.png")).convert("L"))
    model = trained["model"]
    files = ["model.json"] + sorted(Colorizer.load(model).config["files"])
    return {"gray": gray, "rgb": Colorizer.load(model, blend=2).colorize(gray), "files": files}


def test_model_loader_fuzz(trained, reference, tmp_path):
    """Damage one file of a copy of the model per case; load and colorize with every network."""
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.model_dir import check_model

    rng = np.random.default_rng(7)
    outcomes = {"refused": 0, "same": 0}
    for case in range(160):
        model = tmp_path / f"m{case}"
        shutil.copytree(trained["model"], model)
        rel = reference["files"][int(rng.integers(len(reference["files"])))]
        target = model / rel
        damaged, how = _damage(target.read_bytes(), rng)
        target.write_bytes(damaged)
        t0 = time.perf_counter()
        try:
            rgb = Colorizer.load(model, blend=2).colorize(reference["gray"])
        except CLEAN:
            outcomes["refused"] += 1
            assert check_model(str(model))[0], f"case {case}: check-model missed {how} {rel}"
        else:  # only a change that leaves the file's meaning intact may pass, and then nothing changes
            assert np.array_equal(rgb, reference["rgb"]), f"case {case}: {how} {rel} changed the colorization"
            outcomes["same"] += 1
        assert time.perf_counter() - t0 < CASE_SECONDS, f"case {case} ({how} {rel}) took too long"
        shutil.rmtree(model)
    assert outcomes["refused"] > 100, outcomes
