"""Bin networks (``--bins``): a distribution over chroma bins read back by an annealed mean."""

import os
import types

import numpy as np
import pytest

from deepcolor.core.settings import ColorizeSettings, SettingsError, TrainSettings
from deepcolor.networks import ChromaNetwork, NetworkBlend, train_network
from deepcolor.networks.bins import chroma_bins
from deepcolor.networks.streaming import train_network_streaming


def _ambiguous(images=20, per_image=60, seed=0):
    """Images whose pixels share their inputs but are red (U 0.1) 70% of the time and
    blue (U -0.1) 30%: the squared error fits their mean, U 0.04."""
    rng = np.random.default_rng(seed)
    feats, targets = [], []
    for _ in range(images):
        feats.append(rng.normal(size=(per_image, 4)).astype(np.float32))
        u = np.where(rng.random(per_image) < 0.7, 0.1, -0.1)
        targets.append(np.stack([u, np.zeros_like(u)], axis=1).astype(np.float32))
    return feats, targets


class _Source:
    def __init__(self, feats, targets):
        self.feats, self.targets = feats, targets

    def __len__(self):
        return len(self.feats)

    def load(self, positions):
        return (np.concatenate([self.feats[p] for p in positions]),
                np.concatenate([self.targets[p] for p in positions]))


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_a_low_temperature_reads_the_likely_colour_where_the_regression_reads_the_mean(streamed):
    feats, targets = _ambiguous()
    x, y = np.concatenate(feats), np.concatenate(targets)
    fit = dict(hidden=8, epochs=15, batch_size=64, seed=0, device="cpu", bins=2, temperature=1.0)
    if streamed:
        net = train_network_streaming(_Source(feats, targets), block_images=6, **fit)
    else:
        net = train_network(x, y, **fit)
    regression = train_network(x, y, **{**fit, "bins": 0})
    assert net.bins == 2 and net.config["loss"] == "cross-entropy"
    np.testing.assert_allclose(np.sort(net.centres[:, 0]), [-0.1, 0.1], atol=1e-3)
    assert abs(regression.predict(x)[:, 0].mean() - 0.04) < 0.01
    assert abs(net.predict(x)[:, 0].mean() - 0.04) < 0.015  # T 1: the distribution's mean
    # T 0.2: probabilities 0.7 and 0.3 become 0.986 and 0.014, U 0.097
    assert net.at_temperature(0.2).predict(x)[:, 0].mean() > 0.09
    assert net.history[-1] < net.history[0]


def test_a_bin_network_is_saved_with_its_bins_and_temperature(tmp_path):
    feats, targets = _ambiguous(images=5)
    x, y = np.concatenate(feats), np.concatenate(targets)
    net = train_network(x, y, hidden=8, epochs=2, device="cpu", bins=3, temperature=0.5)
    path = tmp_path / "n.safetensors"
    net.save(path)
    back = ChromaNetwork.load(path, device="cpu")
    assert (back.bins, back.temperature, back.outputs) == (3, 0.5, 3)
    np.testing.assert_array_equal(back.centres, net.centres)
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    assert back.num_weights == sum(p.numel() for p in back.net.parameters())
    assert not np.allclose(back.at_temperature(2.0).predict(x), net.predict(x))

    # a file whose centres were lost is refused, naming it
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    del tensors["bin_centres"]
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, str(broken), metadata=meta)
    with pytest.raises(ValueError, match="broken.safetensors.*damaged"):
        ChromaNetwork.load(broken, device="cpu")


def test_a_blend_of_bin_networks_averages_their_annealed_means():
    feats, targets = _ambiguous(images=5)
    x, y = np.concatenate(feats), np.concatenate(targets)
    nets = [train_network(x, y, hidden=8, epochs=2, seed=s, device="cpu", bins=4, temperature=0.38)
            for s in range(3)]
    np.testing.assert_allclose(NetworkBlend(nets).predict(x, batch=50), np.mean([n.predict(x) for n in nets], axis=0),
                               atol=1e-5)
    with pytest.raises(ValueError, match="architecture"):
        NetworkBlend([nets[0], train_network(x, y, hidden=8, epochs=1, device="cpu")])


def test_bad_bin_settings_are_refused():
    x, y = np.zeros((10, 3), np.float32), np.zeros((10, 2), np.float32)
    with pytest.raises(SettingsError, match="--bins must be 0"):
        TrainSettings(bins=1)
    with pytest.raises(SettingsError, match="--temperature must be >= 0.01"):
        ColorizeSettings(temperature=0)
    with pytest.raises(ValueError, match="as many samples as bins"):
        train_network(x, y, epochs=1, device="cpu", bins=16)
    with pytest.raises(ValueError, match="bins >= 2"):
        train_network(x, y, epochs=1, device="cpu", bins=1)
    with pytest.raises(ValueError, match="shape"):
        chroma_bins(np.zeros((10, 3)), 2)
    feats, targets = _ambiguous(images=2)
    with pytest.raises(ValueError, match="only a bin network"):
        train_network(np.concatenate(feats), np.concatenate(targets), epochs=1, device="cpu").at_temperature(0.5)


def test_the_bins_change_a_clusters_run_key():
    from deepcolor.pipeline.cluster_networks import run_key

    tset = types.SimpleNamespace(keys=["a", "b"], deep_keys=None, deep_projection=None,
                                 config=types.SimpleNamespace(samples=10, context=False))
    keys = {run_key(tset, [0, 1], TrainSettings(bins=b), False) for b in (0, 16, 32)}
    assert len(keys) == 3


def test_the_report_reads_a_temperature_per_method():
    from deepcolor.evaluation.report.specs import ReportError, parse_method

    entry = parse_method("deepcolor:model=default:temperature=0.6")
    assert entry.options["temperature"] == 0.6 and "temperature=0.6" in entry.label
    assert entry.key != parse_method("deepcolor:model=default").key  # a run folder of its own
    with pytest.raises(ReportError, match="temperature must be a number"):
        parse_method("deepcolor:temperature=warm")


def test_the_benchmark_reads_a_bin_model_at_another_temperature(tmp_path, capsys):
    """``deepcolor benchmark --temperature``: recorded in run.json, changes the colours of a
    --bins model, and is refused for a method that has no networks. Needs the VGG16 weights."""
    import json

    from PIL import Image

    from deepcolor.cli import main
    from deepcolor.features import alexnet, vgg

    try:
        vgg.weights_path()
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    import skimage.data

    os.makedirs(tmp_path / "gt")
    Image.fromarray(skimage.data.coffee()[::4, ::4]).save(tmp_path / "gt" / "coffee.png")
    base = ["benchmark", "--dataset", "folder", "--folder", str(tmp_path / "gt"), "--quiet", "--method", "deepcolor",
            "--model", "general-vgg-vivid"]
    summaries = {}
    for t in ("0.2", "2"):
        assert main(base + ["--temperature", t, "-o", str(tmp_path / t)]) == 0
        assert json.loads((tmp_path / t / "run.json").read_text())["temperature"] == float(t)
        summaries[t] = json.loads((tmp_path / t / "summary.json").read_text())
    assert summaries["0.2"]["colorfulness_mean"] > summaries["2"]["colorfulness_mean"]
    capsys.readouterr()
    assert main(["benchmark", "--dataset", "folder", "--folder", str(tmp_path / "gt"), "--quiet", "--method", "gray",
                 "--temperature", "1", "-o", str(tmp_path / "g")]) == 2
    assert "needs --method deepcolor" in capsys.readouterr().err


def test_a_bin_network_gives_the_distribution_it_was_fitted_to_whatever_its_temperature():
    feats, targets = _ambiguous()
    x, y = np.concatenate(feats), np.concatenate(targets)
    net = train_network(x, y, hidden=8, epochs=15, batch_size=64, seed=0, device="cpu", bins=2, temperature=0.38)
    p = net.distribution(x)
    assert p.shape == (len(x), 2) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    red = int(np.argmax(net.centres[:, 0]))
    assert abs(p[:, red].mean() - 0.7) < 0.05  # the pixels are red 70% of the time
    np.testing.assert_array_equal(net.at_temperature(5.0).distribution(x), p)
    np.testing.assert_allclose(p @ net.centres, net.at_temperature(1.0).predict(x), atol=1e-5)  # its mean
    regression = train_network(x, y, hidden=8, epochs=1, device="cpu")
    with pytest.raises(ValueError, match="--bins"):
        regression.distribution(x)


def test_the_palette_offers_each_likely_colour_once_with_its_share():
    from deepcolor.app.session import PALETTE_BINS, suggestions

    auto = (0.01, 0.0)
    candidates = [(auto, None), ((0.1, 0.0), 0.6), ((0.11, 0.005), 0.05), ((-0.1, 0.0), 0.3),
                  ((0.012, 0.0), 0.02), ((0.3, 0.3), 0.01)]
    chosen, shares = suggestions(candidates)
    # a bin beside the red one adds to its share; one beside the automatic colour and one
    # under 3% are not offered
    np.testing.assert_allclose(np.array(chosen) / 255, [auto, (0.1, 0.0), (-0.1, 0.0)])
    assert shares[0] is None and shares[1:] == pytest.approx([0.65, 0.3])
    many = [(auto, None)] + [((0.05 * k, -0.05 * k), 0.1) for k in range(1, 11)]
    assert len(suggestions(many)[0]) == 1 + PALETTE_BINS


def test_a_bin_models_colour_and_distribution_come_from_one_run_of_its_network(monkeypatch):
    """The web app's session on a one-network bin model (``general-vgg-vivid``): its automatic
    colour and its palette's distribution come from one run of the network per band, each
    exactly what the single calls give. Needs the VGG16 weights."""
    import skimage.data

    from deepcolor.core.color import rgb2gray
    from deepcolor.features import alexnet, vgg
    from deepcolor.pipeline import Colorizer

    try:
        vgg.weights_path()
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")
    c = Colorizer.load("general-vgg-vivid")
    gray = rgb2gray(skimage.data.coffee()[::3, ::3])
    alone = c.working_chroma(gray)
    chosen = [c.network(k) for k in alone.lookup.chosen]
    assert len(chosen) == 1 and chosen[0].bins
    probs = c.analyze(alone.work)[0]
    expected = c.network_distribution(chosen, alone.work, probs)
    runs = []
    original = ChromaNetwork._run
    monkeypatch.setattr(ChromaNetwork, "_run", lambda self, *a, **k: runs.append(a[2]) or original(self, *a, **k))
    found = c.working_chroma(gray, palette=lambda lookup, gist: ([], [c.network(k) for k in lookup.chosen]))
    assert runs and all(width == 2 + chosen[0].bins for width in runs)  # one run per band gives both
    np.testing.assert_array_equal(found.uv, alone.uv)
    maps, distribution = found.palette
    assert maps == []
    np.testing.assert_array_equal(distribution.probabilities, expected.probabilities)
    np.testing.assert_array_equal(distribution.centres, expected.centres)
    x = np.random.default_rng(0).normal(size=(50, chosen[0].input_dim)).astype(np.float32)
    both = chosen[0].predict_with_distribution(x)
    np.testing.assert_array_equal(both[:, :2], chosen[0].predict(x))
    np.testing.assert_array_equal(both[:, 2:], chosen[0].distribution(x))
