"""deepcolor with user hints: no hints = deepcolor, hints are honoured locally, the CLI and the benchmark."""

import numpy as np
import pytest
from PIL import Image

from deepcolor.cli import main
from deepcolor.core.color import chroma_of, rgb2gray


def two_regions(h=60, w=80):
    """Sky-blue top over a green bottom, with a little texture."""
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2] = (90, 150, 220)
    img[h // 2:] = (60, 140, 50)
    return np.clip(img + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def colorizer():
    from deepcolor.pipeline import Colorizer

    return Colorizer.load()


def test_no_hints_is_deepcolor_exactly(colorizer):
    gray = rgb2gray(two_regions())
    auto = colorizer.colorize(gray)
    assert np.array_equal(colorizer.colorize(gray, hints=[]), auto)
    marked = np.repeat(gray[..., None], 3, axis=2)
    assert np.array_equal(colorizer.colorize(gray, hints=(marked, np.zeros(gray.shape, bool))), auto)


def test_a_hint_is_honoured_where_it_is_and_fades_across_the_edge(colorizer):
    rgb = two_regions()
    gray = rgb2gray(rgb)
    auto = chroma_of(colorizer.colorize(gray))
    red = (200, 40, 40)
    from deepcolor.core.settings import HintSettings

    # the luminance affinities alone (the chroma guide off): see the next test for the guide
    luminance_only = HintSettings(chroma_sigma=0.0)
    out = chroma_of(colorizer.colorize(gray, hints=[(15, 40, red)], hint_weight=1e-4, hint_settings=luminance_only))
    target = chroma_of(np.array([[red]], np.uint8))[0, 0]
    # exact up to the colour's 8-bit rounding at the hint (the luminance is the image's)
    assert np.abs(out[15, 40] - target).max() < 0.05 < np.abs(auto[15, 40] - target).max()
    moved = np.abs(out - auto).sum(-1)
    assert moved[15, 40] > moved[15, 75] > 0  # fades with distance within its region
    # and drops at the regions' edge (row 30) far more than over the same distance within the region
    assert moved[32, 40] / moved[28, 40] < 0.6 < moved[26, 40] / moved[22, 40]
    # a larger data weight keeps the correction more local
    local = np.abs(chroma_of(colorizer.colorize(gray, hints=[(15, 40, red)], hint_weight=1e-2,
                                                hint_settings=luminance_only)) - auto).sum(-1)
    assert local[15, 75] < moved[15, 75]


def test_hints_everywhere_give_the_hints(colorizer):
    rgb = two_regions()
    gray = rgb2gray(rgb)
    out = colorizer.colorize(gray, hints=(rgb, np.ones(gray.shape, bool)))
    assert np.abs(out.astype(int) - rgb).max() <= 2


@pytest.mark.parametrize("hints, message", [
    ([(100, 5, (1, 2, 3))], "outside"),
    ([(5, 5, (1, 2))], "three values"),
    ([(5, 5, (1, 2, 300))], "three values"),
    ([(5, 5)], "expected (row, column"),
])
def test_bad_points_are_named(colorizer, hints, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        colorizer.colorize(rgb2gray(two_regions()), hints=hints)


def test_scribble_auto_and_benchmark_method(tmp_path, capsys):
    import json

    rgb = two_regions()
    gray = rgb2gray(rgb)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    marked = np.repeat(gray[..., None], 3, axis=2)
    marked[10:14, 30:34] = (200, 40, 40)
    Image.fromarray(marked).save(tmp_path / "marked.png")
    assert main(["scribble", str(tmp_path / "gray.png"), str(tmp_path / "marked.png"), "-o",
                 str(tmp_path / "auto.png"), "--auto"]) == 0
    assert main(["scribble", str(tmp_path / "gray.png"), str(tmp_path / "marked.png"), "-o",
                 str(tmp_path / "levin.png")]) == 0
    auto, levin = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("auto", "levin"))
    assert np.abs(auto[12, 32].astype(int) - levin[12, 32]).max() <= 3  # both honour the stroke
    assert np.abs(auto[55, 70].astype(int) - levin[55, 70]).max() > 10  # far away: automatic vs the stroke's red
    assert main(["scribble", str(tmp_path / "gray.png"), str(tmp_path / "marked.png"), "-o",
                 str(tmp_path / "x.png"), "--hint-weight", "0.1"]) == 2
    assert "--auto only" in capsys.readouterr().err

    Image.fromarray(rgb).save(tmp_path / "gt.png")
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(rgb).save(folder / "a.png")
    scores = {}
    for method, extra in (("deepcolor", []), ("deepcolor-hints", ["--hints", "0"]),
                          ("deepcolor-hints", ["--hints", "20"])):
        out = tmp_path / f"run-{method}-{len(extra) and extra[1]}"
        assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", method, "-o", str(out),
                     "--quiet"] + extra) == 0
        scores[(method, extra[1] if extra else None)] = json.load(open(out / "summary.json"))["psnr_mean"]
    assert scores[("deepcolor-hints", "0")] == scores[("deepcolor", None)]
    assert scores[("deepcolor-hints", "20")] > scores[("deepcolor", None)]
    # the method's own settings reach it and are recorded in run.json
    out = tmp_path / "run-luminance-only"
    assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "deepcolor-hints", "-o",
                 str(out), "--quiet", "--hints", "20", "--hint-chroma-sigma", "0", "--hint-gain-prior", "1"]) == 0
    run = json.load(open(out / "run.json"))
    assert run["hint_chroma_sigma"] == 0 and run["hint_gain_prior"] == 1
    assert json.load(open(out / "summary.json"))["psnr_mean"] != scores[("deepcolor-hints", "20")]


def test_the_automatic_chroma_guides_the_correction(colorizer):
    """Where the automatic colours change but the luminance does not, the chroma guide stops
    a hint's correction; with the guide off (sigma 0) it crosses."""
    from deepcolor.pipeline.hints import apply_hints

    gray = np.full((40, 60), 120, np.uint8)
    uv = np.zeros((40, 60, 2), np.float32)
    uv[:, 30:, 0] = 0.05  # an edge of the automatic chroma only
    values = np.zeros((40, 60, 2))
    mask = np.zeros((40, 60), bool)
    values[20, 10] = (0.0, 0.1)
    mask[20, 10] = True
    guided = apply_hints(gray, uv, values, mask, gain_prior=float("inf")) - uv
    plain = apply_hints(gray, uv, values, mask, gain_prior=float("inf"), chroma_sigma=0.0) - uv
    assert guided[20, 10, 1] == pytest.approx(0.1, abs=1e-6) == plain[20, 10, 1]
    assert guided[20, 33, 1] < 0.05 * guided[20, 27, 1]  # stopped at the chroma edge
    assert plain[20, 33, 1] > 0.5 * plain[20, 27, 1]  # the luminance alone lets it through
