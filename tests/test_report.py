"""``deepcolor report``: statistics, tables, run folders reuse, errors, and a smoke run."""

import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from deepcolor.evaluation import registry
from deepcolor.cli import main
from deepcolor.core.color import gray_to_rgb, rgb2gray
from deepcolor.core.metrics import psnr
from deepcolor.evaluation.report import stats
from deepcolor.evaluation.report.specs import DEFAULT_METHODS, ReportError, parse_methods, parse_predictions
from deepcolor.evaluation.report.tables import Table

HAS_MPL = True
try:
    import matplotlib  # noqa: F401
except ImportError:
    HAS_MPL = False

FIG_ARGS = [] if HAS_MPL else ["--no-figures"]
CATEGORIES = ("coast", "forest")


# --------------------------------------------------------------------------- fixtures


def _image(rng, h=20, w=28):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 9, y * 12, (x + y) * 5], -1) + rng.integers(0, 60, (h, w, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.fixture
def fake_root(tmp_path):
    """A data root with siftflow/images (6 small images, two categories) and test.txt."""
    rng = np.random.default_rng(1)
    images = tmp_path / "data" / "siftflow" / "images"
    images.mkdir(parents=True)
    names = []
    for i in range(6):
        name = f"{CATEGORIES[i % 2]}_img{i}.png"
        Image.fromarray(_image(rng)).save(images / name)
        names.append(name)
    (tmp_path / "data" / "siftflow" / "test.txt").write_text("\n".join(names) + "\n")
    return tmp_path / "data"


def _predictions(root, folder, *, skip=(), resize=()):
    """A predictions folder for the fake root: the gray image with a red tint."""
    os.makedirs(folder, exist_ok=True)
    images = os.path.join(root, "siftflow", "images")
    for name in sorted(os.listdir(images)):
        if name in skip:
            continue
        rgb = np.asarray(Image.open(os.path.join(images, name)).convert("RGB"))
        pred = gray_to_rgb(rgb2gray(rgb)).astype(np.int16)
        pred[..., 0] += 12
        pred = np.clip(pred, 0, 255).astype(np.uint8)
        if name in resize:
            pred = pred[:-2]
        Image.fromarray(pred).save(os.path.join(folder, os.path.splitext(name)[0] + ".png"))
    return folder


CALLS = {"tint": 0}


def _tint_factory(options):
    shift = int(options.get("seed") or 0) + 20

    def predict(sample):
        CALLS["tint"] += 1
        rgb = gray_to_rgb(sample.gray).astype(np.int16)
        rgb[..., 2] += shift
        return np.clip(rgb, 0, 255).astype(np.uint8)

    return predict


def _broken_factory(options):
    def predict(sample):
        raise RuntimeError("this method is broken")

    return predict


@pytest.fixture
def test_methods(monkeypatch):
    """Cheap methods for the report, registered for one test only."""
    registry.available_methods()  # load the real ones first
    monkeypatch.setitem(registry._REGISTRY, "test-tint",
                        registry.MethodSpec("test-tint", "gray plus a blue shift (tests)", _tint_factory))
    monkeypatch.setitem(registry._REGISTRY, "test-broken",
                        registry.MethodSpec("test-broken", "always raises (tests)", _broken_factory))
    CALLS["tint"] = 0
    return CALLS


def _report(*args, figures=True):
    return main(["report", "--quiet", "--no-runtime", *(FIG_ARGS if figures else ["--no-figures"]), *args])


# --------------------------------------------------------------------------- statistics


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    rng = np.random.default_rng(0)
    values = rng.normal(24.0, 3.0, 200)
    low, high = stats.bootstrap_ci(values, seed=0)
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * values.std() / np.sqrt(values.size), rel=0.25)
    assert stats.bootstrap_ci(values, seed=0) == (low, high)
    assert stats.bootstrap_ci(values, seed=1) != (low, high)
    # infinities (perfect predictions) are left out of the mean, like summarize() does
    d = stats.describe(np.append(values, np.inf))
    assert d["n"] == 201 and d["mean"] == pytest.approx(values.mean())
    assert np.isnan(stats.bootstrap_ci([])[0])
    assert stats.bootstrap_ci([3.0]) == (3.0, 3.0)


def test_paired_tests():
    rng = np.random.default_rng(0)
    a = rng.normal(25, 2, 60)
    better = a + 0.8 + rng.normal(0, 0.3, 60)
    boot = stats.paired_bootstrap(better, a, seed=0)
    assert boot["n"] == 60 and boot["mean_diff"] == pytest.approx(np.mean(better - a))
    assert boot["ci"][0] < boot["mean_diff"] < boot["ci"][1]
    assert boot["p"] < 0.01 and stats.wilcoxon_p(better, a) < 0.01
    noise = a + rng.normal(0, 0.5, 60)
    assert stats.paired_bootstrap(noise, a, seed=0)["p"] > 0.01
    assert stats.paired_bootstrap(a, a)["p"] == 1.0 and stats.wilcoxon_p(a, a) == 1.0
    # non-finite pairs are dropped
    assert stats.paired_bootstrap([1.0, np.inf, 3.0], [0.0, 1.0, 1.0])["n"] == 2
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_bootstrap([1.0], [1.0, 2.0])


def test_table_markdown_and_html():
    t = Table(["method", "PSNR"], [["a|b", "1.00"]])
    assert t.to_markdown().splitlines() == ["| method | PSNR |", "| :--- | ---: |", "| a\\|b | 1.00 |"]
    assert "<td style=\"text-align:right\">1.00</td>" in t.to_html()
    with pytest.raises(ValueError):
        t.add(["only one"])


# --------------------------------------------------------------------------- method specs


def test_parse_methods():
    entries = parse_methods("default")
    assert [e.label for e in entries][:2] == ["gray", "deepcolor"]
    assert len(entries) == len(DEFAULT_METHODS)
    labels = {e.label: e for e in entries}
    assert labels["deepcolor (refine=jbf)"].options == {"refine": "jbf"}
    assert labels["levin-hints (hints=100)"].key == os.path.join("levin-hints", "hints_100")
    assert labels["deepcolor (refine=dt)"].key == "deepcolor_refine-dt"
    assert [e.label for e in parse_methods("gray,gray,levin-hints:hint-size=5")] == ["gray", "levin-hints (hint_size=5)"]
    with pytest.raises(KeyError, match="unknown method 'nope'"):
        parse_methods("gray,nope")
    for bad, message in [("deepcolor:refine=blur", "unknown refinement"), ("gray:hints=3", "takes no hints"),
                         ("gray:colour=red", "known options"), ("levin-hints:hints=x", "integer"),
                         ("gray:refine", "KEY=VALUE")]:
        with pytest.raises(ReportError, match=message):
            parse_methods(bad)


def test_method_spec_with_a_model(tmp_path):
    """``deepcolor:model=NAME|DIR`` compares models in one report; each gets its own run folder."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.json").write_text("{}")
    named, mine = parse_methods(f"deepcolor:model=default,deepcolor-noblend:model={tmp_path / 'mine'}")
    assert named.options == {"model": "default"} and named.key == "deepcolor_model-default"
    assert mine.options == {"model": str(tmp_path / "mine")}
    assert os.sep not in mine.key and mine.key.startswith("deepcolor-noblend_model-") and mine.key.endswith("_mine")
    for bad, message in [("deepcolor:model=no-such-model", "not a shipped model"),
                         (f"deepcolor:model={tmp_path}", "no model.json"),
                         ("deepcolor-single:model=default", "takes no model"), ("gray:model=default", "takes no model")]:
        with pytest.raises(ReportError, match=message):
            parse_methods(bad)


def test_parse_predictions_syntax(tmp_path):
    (tmp_path / "p" / "sun").mkdir(parents=True)
    entries = parse_predictions([f"zhang={tmp_path / 'p'}"], ["siftflow", "sun"])
    assert entries[0].predictions == {"siftflow": str(tmp_path / "p"), "sun": str(tmp_path / "p" / "sun")}
    entries = parse_predictions([f"z@sun={tmp_path / 'p'}"], ["siftflow", "sun"])
    assert entries[0].predictions == {"sun": str(tmp_path / "p")}
    for bad, message in [("zhang", "NAME=DIR"), ("=dir", "NAME=DIR"), ("zhang=", "NAME=DIR"),
                         (f"a b={tmp_path}", "letters, digits"), (f"z@nowhere={tmp_path}", "not among --datasets"),
                         (f"gray={tmp_path}", "already a method"), (f"z={tmp_path / 'missing'}", "not found")]:
        with pytest.raises(ReportError, match=message):
            parse_predictions([bad], ["siftflow", "sun"], {"gray"})


# --------------------------------------------------------------------------- the report


def test_report_on_a_fake_root(tmp_path, fake_root, test_methods, capsys):
    pred = _predictions(fake_root, str(tmp_path / "pred"))
    out = tmp_path / "report"
    rc = _report("--data", str(fake_root), "--datasets", "siftflow", "-o", str(out),
                 "--methods", "gray,test-tint,deepcolor,test-broken", "--reference", "test-tint",
                 "--model", str(tmp_path / "no-model"), "--predictions", f"tinted={pred}")
    assert rc == 1  # test-broken failed; everything else is in the report
    md = (out / "report.md").read_text()
    for label in ("gray", "test-tint (ref)", "deepcolor", "test-broken", "tinted"):
        assert f"| {label} |" in md, label
    assert "not available:" in md and "no-model" in md and "not a model directory" in md
    assert "failed: RuntimeError: this method is broken" in md
    assert "8-bit RGB PSNR over the three channels" in md and "native size" in md
    assert "mean PSNR per category" in md and "| coast | 3 |" in md and "| forest | 3 |" in md
    assert "p (Wilcoxon)" in md and "Not measured (--no-runtime)" in md

    report = json.loads((out / "report.json").read_text())
    part = report["datasets"]["siftflow"]
    assert part["reference"] == "test-tint" and part["n_images"] == 6
    by_label = {m["label"]: m for m in part["methods"]}
    assert by_label["deepcolor"]["status"] == "unavailable" and by_label["test-broken"]["status"] == "failed"
    for label in ("gray", "test-tint", "tinted"):
        d = by_label[label]["psnr"]
        assert d["n"] == 6 and d["ci"][0] <= d["mean"] <= d["ci"][1]
    # the gray row is exactly the benchmark's protocol
    images = sorted(os.listdir(fake_root / "siftflow" / "images"))
    expected = [psnr(gt, gray_to_rgb(rgb2gray(gt))) for gt in
                (np.asarray(Image.open(fake_root / "siftflow" / "images" / n).convert("RGB")) for n in images)]
    assert by_label["gray"]["psnr"]["mean"] == pytest.approx(np.mean(expected), abs=1e-5)
    assert by_label["gray"]["versus"]["reference"] == "test-tint"
    assert 0 <= by_label["gray"]["versus"]["p_wilcoxon"] <= 1
    # run folders are ordinary benchmark outputs
    run = out / "runs" / "siftflow" / "gray"
    assert {"run.json", "per_image.csv", "summary.json"} <= set(os.listdir(run))
    assert len(os.listdir(out / "runs" / "siftflow" / "test-tint" / "images")) == 6  # reference images saved
    assert not (out / "runs" / "siftflow" / "deepcolor").exists()  # nothing left of the failed start
    html = (out / "report.html").read_text()
    assert "<table>" in html
    if HAS_MPL:
        for name in ("psnr_hist.png", "grid.png", "worst.png", "best.png"):
            assert (out / name).stat().st_size > 1000, name
        assert html.count("data:image/png;base64,") == 4


def test_runs_are_reused_and_rerun_when_settings_change(tmp_path, fake_root, test_methods):
    out, runs = tmp_path / "r", tmp_path / "runs"
    args = ["--data", str(fake_root), "--datasets", "siftflow", "--methods", "gray,test-tint", "--runs", str(runs),
            "--reference", "test-tint"]  # the reference's images are saved by its run: no recolorizing
    assert _report(*args, "-o", str(out)) == 0
    assert test_methods["tint"] == 6
    args.append("--no-figures")  # figures are not the point here
    assert _report(*args, "-o", str(tmp_path / "r2")) == 0
    assert test_methods["tint"] == 6  # reused: run.json matched
    # a partial run (interrupted) is resumed: only the missing images are scored
    run = runs / "siftflow" / "test-tint"
    lines = (run / "per_image.csv").read_text().splitlines()
    (run / "per_image.partial.csv").write_text("\n".join(lines[:3]) + "\n")
    os.remove(run / "summary.json")
    assert _report(*args, "-o", str(out)) == 0
    assert test_methods["tint"] == 6 + 4
    assert _report(*args, "--limit", "3", "-o", str(out)) == 0  # other settings: run again
    assert test_methods["tint"] == 6 + 4 + 3
    assert json.loads((run / "summary.json").read_text())["n_images"] == 3


def test_folder_dataset_and_unavailable_reference_methods(tmp_path, fake_root, test_methods, monkeypatch, capsys):
    monkeypatch.delenv("DEEPCOLOR_DATA", raising=False)
    folder = fake_root / "siftflow" / "images"
    out = tmp_path / "r"
    assert _report("--datasets", "folder", "--folder", str(folder), "-o", str(out),
                   "--methods", "gray,reinhard-auto,levin-hints:hints=5", figures=False) == 0
    md = (out / "report.md").read_text()
    assert "| reinhard-auto | - | not available: no data root" in md
    assert "comparisons use 'levin-hints (hints=5)'" in md  # deepcolor not asked: first other method
    assert "| levin-hints (hints=5) (ref) | 6 |" in md


def test_hints_sweep_shares_runs_with_the_table(tmp_path, fake_root):
    out = tmp_path / "r"
    assert _report("--data", str(fake_root), "--datasets", "siftflow", "-o", str(out),
                   "--methods", "gray,levin-hints:hints=2", "--sweep", "1,2") == 0
    md = (out / "report.md").read_text()
    assert "PSNR vs number of hints" in md
    sweep = out / "runs" / "siftflow" / "levin-hints"
    assert (sweep / "hints_sweep.csv").exists() and sorted(p for p in os.listdir(sweep) if p.startswith("hints_")) == [
        "hints_1", "hints_2", "hints_sweep.csv"]
    table = json.loads((out / "report.json").read_text())["datasets"]["siftflow"]
    row = next(m for m in table["methods"] if m["label"] == "levin-hints (hints=2)")
    assert row["psnr"]["mean"] == pytest.approx(table["sweep"][1]["psnr_mean"], abs=1e-3)
    # deepcolor bent to the same hints is swept beside Levin's propagation
    assert "deepcolor-hints, PSNR vs number of hints" in md
    assert [r["hints"] for r in table["sweeps"]["deepcolor-hints"]] == [1, 2]
    assert (out / "runs" / "siftflow" / "deepcolor-hints" / "hints_sweep.csv").exists()
    if HAS_MPL:
        assert (out / "hints_sweep.png").exists()


def test_malformed_predictions_give_clear_errors(tmp_path, fake_root, capsys):
    base = ["--data", str(fake_root), "--datasets", "siftflow", "--methods", "gray", "-o", str(tmp_path / "r")]
    missing = _predictions(fake_root, str(tmp_path / "missing"), skip=("coast_img0.png",))
    assert _report(*base, "--predictions", f"m={missing}") == 2
    err = capsys.readouterr().err
    assert "--predictions m (SIFT Flow)" in err and "missing 1: coast_img0.png" in err
    small = _predictions(fake_root, str(tmp_path / "small"), resize=("forest_img1.png",))
    assert _report(*base, "--predictions", f"s={small}") == 2
    assert "forest_img1.png is 28x18, ground truth 28x20" in capsys.readouterr().err
    assert _report(*base, "--predictions", str(small)) == 2
    assert "expects NAME=DIR" in capsys.readouterr().err
    assert _report(*base, "--predictions", f"x={tmp_path / 'nowhere'}") == 2
    assert "predictions folder not found" in capsys.readouterr().err
    assert not (tmp_path / "r" / "runs").exists()  # checked before anything ran


def test_user_errors(tmp_path, fake_root, capsys):
    base = ["--data", str(fake_root), "-o", str(tmp_path / "r")]
    assert _report(*base, "--datasets", "siftflow", "--methods", "gray,nope") == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert _report(*base, "--datasets", "imagenet") == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err
    assert _report(*base, "--datasets", "siftflow", "--limit", "0") == 2
    assert "--limit must be positive" in capsys.readouterr().err
    assert _report(*base, "--datasets", "siftflow,sun", "--methods", "gray") == 2
    assert "SUN images folder not found" in capsys.readouterr().err
    assert _report(*base, "--datasets", "siftflow", "--methods", "gray", "--sweep", "1,x") == 2
    assert "--sweep must be comma-separated integers" in capsys.readouterr().err


def test_missing_matplotlib_names_the_extra(tmp_path, fake_root, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    args = ["report", "--quiet", "--no-runtime", "--data", str(fake_root), "--datasets", "siftflow",
            "--methods", "gray", "-o", str(tmp_path / "r")]
    assert main(args) == 2
    assert "pip install -e .[bench]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert main(args + ["--no-figures"]) == 0
    assert "Figures were not drawn" in (tmp_path / "r" / "report.md").read_text()


# --------------------------------------------------------------------------- run time


def test_runtime_measure_fits_the_exponent_and_limits_big_sizes():
    from deepcolor.evaluation.report import runtime as rt

    clock_now = [0.0]
    calls = []

    def clock():
        return clock_now[0]

    def colorize(gray):  # 1 s per 256x256 worth of pixels, exactly linear
        calls.append(gray.shape)
        clock_now[0] += gray.size / 65536.0

    result = rt.measure(colorize, sizes=(64, 128, 256, 2048), repeats=3, budget_s=100, clock=clock)
    assert [m["size"] for m in result["measurements"]] == [64, 128, 256, 2048]
    assert [m["runs"] for m in result["measurements"]] == [3, 3, 3, 1]  # 64 s each at 2048: one run fits 100 s
    assert result["measurements"][2]["median"] == pytest.approx(1.0)
    assert result["fit"]["slope"] == pytest.approx(1.0)
    assert calls[0] == (64, 64)  # warm-up
    slopes = rt.paper_slopes()
    assert slopes["paper"] == pytest.approx(0.80, abs=0.02) and slopes["deshpande"] == pytest.approx(1.12, abs=0.02)
    assert rt.test_image(40).shape == (40, 40)


def test_runtime_unavailable_without_a_model(tmp_path, fake_root):
    out = tmp_path / "r"
    assert main(["report", "--quiet", "--no-figures", "--data", str(fake_root), "--datasets", "siftflow",
                 "--methods", "gray", "--model", str(tmp_path / "none"), "--runtime-sizes", "32,64", "-o", str(out)]) == 0
    assert "## Run time\n\nNot available:" in (out / "report.md").read_text()


# --------------------------------------------------------------------------- smoke run on the real data


def test_smoke_report_on_the_shared_data(tmp_path, data_root):
    out = tmp_path / "r"
    # figures are exercised on the fake root; here the real datasets' readers, categories and harness
    assert _report("--data", data_root, "-o", str(out), "--limit", "5",
                   "--methods", "gray,levin-hints:hints=10", "--reference", "levin-hints:hints=10", figures=False) == 0
    md = (out / "report.md").read_text()
    assert "## SIFT Flow (test, 5 images)" in md and "## SUN (test, 5 images)" in md
    assert "| levin-hints (hints=10) (ref) | 5 |" in md and "| gray | 5 |" in md
    assert "| sky |" in md or "| kitchen |" in md or "| coast |" in md


def test_deepcolor_with_the_models_own_refinement_reuses_the_deepcolor_run(tmp_path):
    from deepcolor.evaluation.report.build import _model_refine, _same_run

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.json").write_text(json.dumps({"format": "deepcolor-model", "refine": "dt"}))
    assert _model_refine(str(tmp_path / "m")) == "dt"
    assert _model_refine(str(tmp_path / "none")) is None
    entries = {e.label: e for e in parse_methods("deepcolor,deepcolor:refine=dt,deepcolor:refine=jbf")}
    done = [{"label": "deepcolor", "method": "deepcolor", "options": {}, "status": "ok"}]
    assert _same_run(entries["deepcolor (refine=dt)"], done, "dt") is done[0]
    assert _same_run(entries["deepcolor (refine=jbf)"], done, "dt") is None
    assert _same_run(entries["deepcolor (refine=dt)"], done, None) is None


def test_runtime_section_and_its_cache(tmp_path, fake_root, monkeypatch):
    from deepcolor.evaluation.report import runtime as rt

    calls = []

    def fake_measure_colorizer(model=None, refine=None, **kwargs):
        calls.append(kwargs["sizes"])
        fake = lambda gray: None  # noqa: E731
        clock = iter(np.arange(0, 100, 0.5))
        result = rt.measure(fake, clock=lambda: next(clock), **kwargs)
        result.update({"model": "fake-model", "refine": "dt", "machine": rt.machine()})
        return result

    monkeypatch.setattr(rt, "measure_colorizer", fake_measure_colorizer)
    args = ["report", "--quiet", "--data", str(fake_root), "--datasets", "siftflow", "--methods", "gray",
            "--runtime-sizes", "32,64", "--runtime-repeats", "3", "--runs", str(tmp_path / "runs")]
    assert main(args + ["--no-figures", "-o", str(tmp_path / "a")]) == 0
    assert main(args + ["--no-figures", "-o", str(tmp_path / "b")]) == 0
    assert calls == [[32, 64]]  # the second report reused RUNS/runtime.json
    md = (tmp_path / "b" / "report.md").read_text()
    assert "| 32x32 | 1,024 | 0.500 | 3 |" in md and "| 256x256 | 65,536 | - | - | 6.78 | 252 |" in md
    assert "Scaling exponent" in md and "the paper 0.80" in md
    if HAS_MPL:
        from deepcolor.evaluation.report import figures

        result = json.loads((tmp_path / "runs" / "runtime.json").read_text())["result"]
        figures.runtime_plot(str(tmp_path / "runtime.png"), result["measurements"], {"paper": rt.PAPER}, result["fit"])
        assert (tmp_path / "runtime.png").stat().st_size > 1000


def test_report_shows_the_newer_metrics_when_asked(tmp_path, fake_root, test_methods):
    out = tmp_path / "report"
    assert _report("--data", str(fake_root), "--datasets", "siftflow", "-o", str(out), "--methods", "gray,test-tint",
                   "--metrics", "dcf") == 0
    md = (out / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| method |"))
    assert header.rstrip(" |").endswith("ΔCF") and "LPIPS" not in header
    row = next(line for line in md.splitlines() if line.startswith("| gray |"))
    assert row.split("|")[-2].strip() != "-"  # gray's ΔCF is the ground truth's mean colorfulness
    runs = json.load(open(out / "runs" / "siftflow" / "gray" / "run.json"))
    assert runs["metrics"] == ["psnr", "ssim", "auc", "cf", "dcf"]


def test_report_writes_a_latex_table_a_paper_can_paste(tmp_path, fake_root, test_methods):
    out = tmp_path / "report"
    assert _report("--data", str(fake_root), "--datasets", "siftflow", "-o", str(out), "--methods", "gray,test-tint",
                   "--metrics", "dcf", figures=False) == 0
    tex = (out / "report.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\toprule" in tex and "\\end{table}" in tex
    assert "SIFT Flow PSNR$\\uparrow$" in tex and "SIFT Flow $\\Delta$CF$\\downarrow$" in tex
    assert "LPIPS" not in tex  # not computed in this run
    rows = [line for line in tex.splitlines() if line.startswith(("gray &", "test-tint &"))]
    assert len(rows) == 2 and all(line.endswith("\\\\") and line.count("&") == 3 for line in rows)
