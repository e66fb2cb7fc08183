import os

import numpy as np
import pytest
from PIL import Image

from deepcolor.data.root import DATA_ENV


@pytest.fixture(scope="session")
def data_root():
    """The shared data root (``$DEEPCOLOR_DATA``); tests needing it skip when it is absent."""
    root = os.environ.get(DATA_ENV)
    if not root or not os.path.isdir(root):
        pytest.skip(f"needs the datasets: set {DATA_ENV} to the folder holding siftflow/, sun/, stanford_background/")
    return root


@pytest.fixture
def torch_one_thread():
    """Run the test with one torch intra-op thread (restored afterwards)."""
    torch = pytest.importorskip("torch")
    # the test machine's cores are shared: one intra-op thread avoids spin-wait slowdowns
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_parser():
    """Factory of small seeded scene parsers on the CPU: ``tiny_parser(num_classes=8, seed=0)``.

    Classes are named ``c0``, ``c1``, ...; the weights depend on ``num_classes`` and ``seed`` only.
    """
    torch = pytest.importorskip("torch")
    from deepcolor.features.scene_parser.model import DEFAULT_CONFIG, SceneParser, build_network

    def make(num_classes=8, seed=0):
        torch.manual_seed(seed)
        config = dict(DEFAULT_CONFIG, widths=[4, 8, 8], decoder_widths=[8, 4], num_classes=num_classes,
                      class_names=[f"c{i}" for i in range(num_classes)])
        return SceneParser(build_network(config), config, device="cpu")

    return make


def noise_photos(folder, n, size=(40, 48), seed=0):
    """``n`` random RGB noise images ``p<i>.png`` in ``folder`` (created); returns the folder."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(os.path.join(folder, f"p{i}.png"))
    return folder


def make_images(folder, n=8, size=(36, 44)):
    """``n`` small generated photos (sky over grass, dusk over road) in ``folder``."""
    rng = np.random.default_rng(1)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        img = np.zeros(size + (3,), np.float64)
        img[: size[0] // 2] = [90, 150, 235] if i % 2 else [240, 150, 60]
        img[size[0] // 2:] = [50, 150, 40] if i % 2 else [110, 110, 115]
        img += rng.normal(0, 6, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"p{i}.png"))
    return folder


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A small model (2 top-layer clusters, a tiny parser) and its training images."""
    import torch

    from deepcolor.features.scene_parser import save_parser
    from deepcolor.features.scene_parser.model import build_network

    base = tmp_path_factory.mktemp("reliability")
    images = make_images(str(base / "images"))
    torch.manual_seed(0)
    cfg = {"num_classes": 2, "widths": [4, 8], "decoder_widths": [4], "mean": 0.45, "std": 0.25, "input_scale": 1.0}
    save_parser(str(base / "parser"), build_network(cfg), cfg)
    model = str(base / "model")
    from deepcolor.cli import main

    assert main(["train", "--dataset", "folder", "--folder", images, "-o", model, "--clusters", "2", "--mu", "4",
                 "--samples", "100", "--epochs", "2", "--parser", str(base / "parser"), "--cache",
                 str(base / "cache"), "--quiet", "--blend", "1"]) == 0
    return {"base": base, "images": images, "model": model}
