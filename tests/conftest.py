import os

import pytest

from data.root import DATA_ENV


@pytest.fixture(scope="session")
def data_root():
    """The shared data root (``$DEEPCOLOR_DATA``); tests needing it skip when it is absent."""
    root = os.environ.get(DATA_ENV)
    if not root or not os.path.isdir(root):
        pytest.skip(f"needs the datasets: set {DATA_ENV} to the folder holding siftflow/, sun/, stanford_background/")
    return root
