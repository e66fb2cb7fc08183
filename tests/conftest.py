import os

import pytest

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
