import os

import numpy as np
import pytest

from deepcolor.networks.chroma import ChromaNetwork, count_weights, hidden_units, train_network


def _toy(n=4000, d=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32) * 3 + 5  # not standardized on purpose
    y = np.stack([0.1 * np.tanh(x[:, 0] - 5), -0.05 * (x[:, 1] - 5) / 3], axis=1).astype(np.float32)
    return x, y


def test_architecture_follows_the_paper():
    x, y = _toy(d=89)
    net = train_network(x[:500], y[:500], epochs=1, device="cpu")
    linears = [m for m in net.net if hasattr(m, "weight")]
    assert [tuple(l.weight.shape) for l in linears] == [(44, 89), (44, 44), (44, 44), (2, 44)]
    assert hidden_units(89) == 44
    assert count_weights(89) == 8010 == sum(p.numel() for p in net.net.parameters())
    assert net.num_weights == 8010


def test_training_reduces_the_loss_and_fits():
    x, y = _toy()
    net = train_network(x, y, epochs=30, batch_size=256, lr=5e-3, device="cpu")
    assert len(net.history) == 30
    assert net.history[-1] < net.history[0] * 0.5
    pred = net.predict(x)
    assert pred.shape == (len(x), 2) and pred.dtype == np.float32
    assert np.mean((pred - y) ** 2) < np.mean(y ** 2) * 0.2
    assert net.config["optimizer"] == "adam" and net.config["epochs"] == 30


def test_seeded_training_is_deterministic_on_cpu():
    x, y = _toy(n=1500)
    a = train_network(x, y, epochs=2, seed=3, device="cpu")
    b = train_network(x, y, epochs=2, seed=3, device="cpu")
    c = train_network(x, y, epochs=2, seed=4, device="cpu")
    for (ka, va), (kb, vb) in zip(a.state().items(), b.state().items()):
        assert ka == kb and np.array_equal(va.numpy(), vb.numpy())
    assert a.history == b.history
    assert not np.array_equal(a.predict(x[:10]), c.predict(x[:10]))


def test_sample_weights_pull_the_fit_toward_heavy_samples():
    # the same inputs with two targets: unweighted least squares fits their mean, weights 3:1
    # move the fit toward the heavy target (the weighted mean, 0.05)
    rng = np.random.default_rng(0)
    x = np.repeat(rng.normal(size=(300, 4)).astype(np.float32), 2, axis=0)
    y = np.tile(np.array([[0.1, 0.0], [-0.1, 0.0]], np.float32), (300, 1))
    w = np.tile(np.array([3.0, 1.0]), 300)
    plain = train_network(x, y, hidden=16, epochs=30, batch_size=100, device="cpu").predict(x)[:, 0]
    heavy = train_network(x, y, hidden=16, epochs=30, batch_size=100, device="cpu", sample_weight=w)
    assert abs(plain.mean()) < 0.02
    assert abs(heavy.predict(x)[:, 0].mean() - 0.05) < 0.02
    assert heavy.config["sample_weight"] is True
    ones = train_network(x, y, epochs=2, device="cpu", sample_weight=np.full(len(x), 2.0))
    same = train_network(x, y, epochs=2, device="cpu")
    assert np.allclose(ones.predict(x), same.predict(x), atol=1e-6)
    with pytest.raises(ValueError, match="sample_weight"):
        train_network(x, y, epochs=1, device="cpu", sample_weight=-w)
    with pytest.raises(ValueError, match="sample_weight"):
        train_network(x, y, epochs=1, device="cpu", sample_weight=w[:10])


def test_save_and_load_roundtrip(tmp_path):
    x, y = _toy(n=800)
    net = train_network(x, y, epochs=2, device="cpu")
    path = tmp_path / "nets" / "n.safetensors"
    net.save(path)
    back = ChromaNetwork.load(path, device="cpu")
    assert np.array_equal(back.predict(x), net.predict(x))
    assert back.history == net.history and back.config == net.config
    np.testing.assert_array_equal(back.mean, net.mean)
    assert not list(path.parent.glob("*.tmp-*"))


def test_bad_inputs(tmp_path):
    x, y = _toy(n=100)
    with pytest.raises(ValueError):
        train_network(x, y[:, :1])
    with pytest.raises(ValueError):
        train_network(x[:0], y[:0])
    net = train_network(x, y, epochs=1, device="cpu")
    with pytest.raises(ValueError):
        net.predict(x[:, :5])
    with pytest.raises(FileNotFoundError):
        ChromaNetwork.load(tmp_path / "missing.safetensors")


def test_blend_equals_the_mean_of_its_networks():
    from deepcolor.networks import NetworkBlend

    x, y = _toy(n=600)
    nets = [train_network(x, y, epochs=1, seed=s, device="cpu") for s in range(3)]
    blend = NetworkBlend(nets)
    expected = np.mean([n.predict(x) for n in nets], axis=0)
    np.testing.assert_allclose(blend.predict(x, batch=250), expected, atol=1e-5)
    assert not np.allclose(nets[0].predict(x), expected, atol=1e-4)  # the members differ
    with pytest.raises(ValueError, match="at least one"):
        NetworkBlend([])
    with pytest.raises(ValueError, match="architecture"):
        NetworkBlend([nets[0], train_network(x[:, :8], y, epochs=1, device="cpu")])
    with pytest.raises(ValueError, match=r"shape \(n, 10\)"):
        blend.predict(x[:, :5])


def test_shipped_models_load_by_name_and_are_listed(capsys):
    from deepcolor.cli import main
    from deepcolor.core.paths import DEFAULT_MODEL_DIR, resolve_model, shipped_models
    from deepcolor.pipeline import Colorizer

    assert "default" in shipped_models()
    assert resolve_model("default") == DEFAULT_MODEL_DIR == resolve_model(None)
    assert Colorizer.load("default").model_dir == Colorizer.load().model_dir
    with pytest.raises(FileNotFoundError, match="not a shipped model's name .shipped: .*default"):
        resolve_model("no-such-model")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "default (shipped)" in out and "trained on 3523 images" in out
    assert "terms (siftflow):" in out and "terms (sun):" in out
    assert main(["models", "no-such-model"]) == 2
    assert "deepcolor models' lists them" in capsys.readouterr().err


def _psnr_gains(model, reference, records):
    """PSNR of ``model`` minus that of ``reference`` on each record, colorized from its gray image."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr

    gains = []
    for record in records:
        truth = load_rgb(record.path)
        gray = rgb2gray(truth)
        gains.append(psnr(truth, model.colorize(gray)) - psnr(truth, reference.colorize(gray)))
    return gains


def test_the_general_model_is_shipped_sound_and_better_on_everyday_photos(capsys, data_root):
    """The everyday-photo model: listed with its data terms, sound, and ahead of the default
    on every 30th photo of the general test split (31 photos; +1.07 dB on all 904 in README)."""
    from deepcolor.cli import main
    from deepcolor.core.paths import resolve_model
    from deepcolor.data import load_dataset
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.model_dir import check_model

    assert main(["models", "general"]) == 0
    out = capsys.readouterr().out
    assert "trained on 24517 images" in out and "terms (general):" in out and "non-commercial" in out
    assert check_model(resolve_model("general")) == ([], [])
    records = load_dataset("general", data_root, "test")[::30]
    gain = _psnr_gains(Colorizer.load("general"), Colorizer.load(), records)
    assert len(gain) == 31 and np.mean(gain) > 0.5


def _listed_sound_with_weights(capsys, name, *texts, weights):
    """A shipped model reading an ImageNet network: ``deepcolor models NAME`` prints its
    training set and ``texts``, it passes check-model, and the network's weights are there
    (``weights()``; the test skips with the install hint when they are not)."""
    from deepcolor.cli import main
    from deepcolor.core.paths import resolve_model
    from deepcolor.features import alexnet
    from deepcolor.pipeline.model_dir import check_model

    assert main(["models", name]) == 0
    out = capsys.readouterr().out
    assert "trained on 24517 images" in out and all(text in out for text in texts)
    assert check_model(resolve_model(name)) == ([], [])
    try:
        weights()
    except alexnet.WeightsMissing:
        pytest.skip(alexnet.INSTALL_HINT + " (README's install line; CI installs it)")


def test_the_general_alexnet_model_is_shipped_sound_and_better_than_general_on_scenes(capsys, data_root):
    """The everyday-photo model with AlexNet's conv5: listed with the network's terms, sound,
    and ahead of ``general`` on every 10th SUN test image (152 images; +0.35 dB on all
    1519 in README). Needs the AlexNet weights (README's install line)."""
    from deepcolor.data import load_dataset
    from deepcolor.features import alexnet
    from deepcolor.pipeline import Colorizer

    _listed_sound_with_weights(capsys, "general-alexnet", "AlexNet conv5 (32 dims", "terms (alexnet):",
                               weights=alexnet.weights_path)
    records = load_dataset("sun", data_root, "test")[::10]
    gain = _psnr_gains(Colorizer.load("general-alexnet"), Colorizer.load("general"), records)
    assert len(gain) == 152 and np.mean(gain) > 0.1


def test_the_general_vgg_model_is_shipped_sound_and_better_than_general_on_everyday_photos(capsys, data_root):
    """The everyday-photo model reading VGG16's relu4_3 + relu5_3, three seeds' networks
    averaged: listed with the network's terms, sound, and ahead of ``general`` on every 30th
    photo of the general test split (31 photos; +0.20 dB on all 904 in README). Needs the
    VGG16 weights (README's install line)."""
    from deepcolor.data import load_dataset
    from deepcolor.features import vgg
    from deepcolor.pipeline import Colorizer

    _listed_sound_with_weights(capsys, "general-vgg", "VGG16 block4+block5 (128 dims", "terms (vgg16):",
                               "each averaged over 3 seeds", weights=vgg.weights_path)
    records = load_dataset("general", data_root, "test")[::30]
    gain = _psnr_gains(Colorizer.load("general-vgg"), Colorizer.load("general"), records)
    assert len(gain) == 31 and np.mean(gain) > 0


def test_the_general_vgg_psnr_model_is_shipped_sound_and_ahead_of_general_vgg_on_everyday_photos(capsys, data_root):
    """``general-vgg`` fitted to the per-image PSNR (``--image-weight 0.004 --dropout 0.2``):
    listed with its fitting and the network's terms, sound, ahead of ``general-vgg`` on every
    30th photo of the general test split (31 photos; all 904 in README) and less colourful
    there (the price README states). Needs the VGG16 weights (README's install line)."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import colorfulness, psnr
    from deepcolor.data import load_dataset
    from deepcolor.features import vgg
    from deepcolor.pipeline import Colorizer

    _listed_sound_with_weights(capsys, "general-vgg-psnr", "VGG16 block4+block5 (128 dims", "terms (vgg16):",
                               "each averaged over 3 seeds, input dropout 0.2, each image weighted 1/(its chroma "
                               "energy + 0.004)", weights=vgg.weights_path)
    records = load_dataset("general", data_root, "test")[::30]
    models = Colorizer.load("general-vgg-psnr"), Colorizer.load("general-vgg")
    scores = []  # per photo: (PSNR, colourfulness) of each model
    for record in records:
        truth = load_rgb(record.path)
        outputs = [m.colorize(rgb2gray(truth)) for m in models]
        scores.append([(psnr(truth, out), colorfulness(out)) for out in outputs])
    scores = np.array(scores)  # (31, 2 models, 2)
    assert len(scores) == 31 and np.mean(scores[:, 0, 0] - scores[:, 1, 0]) > 0
    assert np.mean(scores[:, 0, 1]) < np.mean(scores[:, 1, 1])


def test_the_general_vgg_vivid_model_is_shipped_sound_and_more_colourful_than_general_vgg(capsys, data_root):
    """``general-vgg`` with 32 chroma bins read by the annealed mean (``--bins 32``, T 0.38):
    listed with its bins, sound, more colourful than ``general-vgg`` on every 30th photo of
    the general test split (31 photos; all 904 in README) and still above gray there; read at
    T 1 (``temperature=1``) it is less colourful than at its own 0.38. Needs the VGG16 weights."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import colorfulness, psnr
    from deepcolor.data import load_dataset
    from deepcolor.features import vgg
    from deepcolor.pipeline import Colorizer

    _listed_sound_with_weights(capsys, "general-vgg-vivid", "VGG16 block4+block5 (128 dims", "terms (vgg16):",
                               "input dropout 0.4, 32 chroma bins read at temperature 0.38", weights=vgg.weights_path)
    records = load_dataset("general", data_root, "test")[::30]
    models = Colorizer.load("general-vgg-vivid"), Colorizer.load("general-vgg"), \
        Colorizer.load("general-vgg-vivid", temperature=1.0)
    scores = []  # per photo: (PSNR, colourfulness) of each model, and of gray
    for record in records:
        truth = load_rgb(record.path)
        gray = rgb2gray(truth)
        outputs = [m.colorize(gray) for m in models] + [np.repeat(gray[..., None], 3, axis=-1)]
        scores.append([(psnr(truth, out), colorfulness(out)) for out in outputs])
    scores = np.array(scores)  # (31, 4, 2)
    assert len(scores) == 31
    assert np.mean(scores[:, 0, 1]) > np.mean(scores[:, 1, 1])  # more colour than general-vgg
    assert np.mean(scores[:, 0, 0]) > np.mean(scores[:, 3, 0])  # and above gray
    assert np.mean(scores[:, 2, 1]) < np.mean(scores[:, 0, 1])  # the temperature dial


def test_shipped_parsers_by_name(capsys, tmp_path):
    from deepcolor.cli import main
    from deepcolor.core.paths import PARSERS_DIR, SHIPPED_PARSER_DIR, resolve_parser, shipped_parsers
    from deepcolor.features.scene_parser import load_parser

    assert {"siftflow33", "stanford8"} <= set(shipped_parsers())
    assert resolve_parser("siftflow33") == os.path.join(PARSERS_DIR, "siftflow33")
    assert resolve_parser(None) == SHIPPED_PARSER_DIR
    assert resolve_parser(str(tmp_path)) == str(tmp_path)  # a folder is a folder, even if named like a parser
    with pytest.raises(FileNotFoundError, match="not a shipped parser's name .shipped: .*siftflow33.*stanford8"):
        resolve_parser("siftflow34")
    sift, stanford = load_parser(resolve_parser("siftflow33"), "cpu"), load_parser(resolve_parser("stanford8"), "cpu")
    assert sift.num_classes == 33 and sift.class_names[27] == "sky"
    assert stanford.num_classes == 8
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "siftflow33: 33 classes" in out and "stanford8: 8 classes" in out and "pixel accuracy" in out


def test_data_terms_of_lists():
    from deepcolor.data import DATA_TERMS, data_terms

    terms = data_terms({"siftflow:train": 2488, "general:train": 20995, "folder:mine": 3})
    assert set(terms) == {"siftflow", "general", "folder"}
    assert "non-commercial" in terms["general"] and terms["folder"] == DATA_TERMS["folder"]


def _gray_and_colour_images(images=40, rows=30, seed=0):
    """Per-image (feats, targets): the same inputs in every image, half the images gray
    (targets 0) and half coloured (U/255 0.1): a network can only fit their mix."""
    rng = np.random.default_rng(seed)
    feats = [rng.normal(size=(rows, 4)).astype(np.float32) for _ in range(images)]
    targets = [np.tile(np.array([[0.1 * (i % 2), 0.0]], np.float32), (rows, 1)) for i in range(images)]
    return feats, targets


def test_image_weights_count_each_image_by_its_per_image_psnr():
    from deepcolor.networks.chroma import image_weights

    targets = np.array([[0.0, 0.0], [0.0, 0.0], [0.1, 0.1], [0.3, 0.1], [0.2, 0.0]])
    w = image_weights(targets, [2, 3], offset=0.01)
    energy = (0.02 + 0.1 + 0.04) / 6  # the second image's mean of U^2 and V^2
    np.testing.assert_allclose(w, [100.0, 100.0] + [1 / (energy + 0.01)] * 3)
    with pytest.raises(ValueError, match="counts"):
        image_weights(targets, [2, 2], offset=0.01)
    with pytest.raises(ValueError, match="offset"):
        image_weights(targets, [2, 3], offset=0.0)


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_image_weighting_pulls_an_ambiguous_fit_toward_the_gray_images(streamed):
    """Gray and coloured images with the same inputs: equal weights fit their mean (0.05);
    weighted by 1 / (energy + 0.001) a gray image counts 11 times a coloured one, so the
    fit moves to 0.1 / 12."""
    from deepcolor.networks.chroma import image_weights
    from deepcolor.networks.streaming import load_samples, train_network_streaming

    feats, targets = _gray_and_colour_images()

    class Source:
        def __len__(self):
            return len(feats)

        def load(self, positions):
            return np.concatenate([feats[p] for p in positions]), np.concatenate([targets[p] for p in positions])

    x, y, w = load_samples(Source(), range(len(feats)), 0.001)
    np.testing.assert_allclose(w, image_weights(y, [len(t) for t in targets], 0.001))
    fit = dict(hidden=8, epochs=40, batch_size=64, seed=0, device="cpu")
    if streamed:
        plain = train_network_streaming(Source(), block_images=6, **fit)
        weighted = train_network_streaming(Source(), block_images=6, image_weight=0.001, **fit)
        assert weighted.config["image_weight"] == 0.001
    else:
        plain = train_network(x, y, **fit)
        weighted = train_network(x, y, sample_weight=w, **fit)
    assert abs(plain.predict(x)[:, 0].mean() - 0.05) < 0.01
    assert abs(weighted.predict(x)[:, 0].mean() - 0.1 / 12) < 0.01


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_dropout_trains_a_network_that_predicts_without_it(streamed):
    from deepcolor.networks.streaming import train_network_streaming

    x, y = _toy(n=800)
    fit = dict(hidden=16, epochs=30, batch_size=100, seed=0, device="cpu")

    class Source:
        def __len__(self):
            return 8

        def load(self, positions):
            rows = np.concatenate([np.arange(100 * p, 100 * p + 100) for p in positions])
            return x[rows], y[rows]

    def train(**extra):
        return train_network_streaming(Source(), **fit, **extra) if streamed else train_network(x, y, **fit, **extra)

    plain, dropped = train(), train(dropout=0.3)
    assert dropped.config["dropout"] == 0.3 and "dropout" not in plain.config
    assert not np.allclose(plain.predict(x), dropped.predict(x))
    np.testing.assert_array_equal(dropped.predict(x), dropped.predict(x))  # no dropout at prediction
    assert float(np.mean((dropped.predict(x) - y) ** 2)) < 0.6 * float(np.mean(y ** 2))  # it still learns
    assert len(list(dropped.net)) == len(list(plain.net))  # the stored network has no dropout layer
    with pytest.raises(ValueError, match="dropout"):
        train(dropout=1.0)
