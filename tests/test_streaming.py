"""Streamed training (deepcolor.networks.streaming): a network killed between epochs goes on
from its last epoch and ends with the weights of an uninterrupted run (epoch_state), and the
next block is read in a background thread without changing the network."""

import threading

import numpy as np
import pytest
import torch

from deepcolor.networks.streaming import train_network_streaming


class Source:
    """12 images of 60 samples; counts the images each ``load`` reads."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.x = rng.normal(size=(720, 7)).astype(np.float32)
        self.y = np.tanh(self.x[:, :2] @ rng.normal(size=(2, 2))).astype(np.float32) * 0.3
        self.loaded = 0
        self.calls = []  # (positions, thread) of each load

    def __len__(self):
        return 12

    def load(self, positions):
        self.loaded += len(positions)
        self.calls.append((list(positions), threading.current_thread().name))
        rows = np.concatenate([np.arange(60 * p, 60 * p + 60) for p in positions])
        return self.x[rows], self.y[rows]


class Killed(Exception):
    pass


# dropout and bins: both random generators and the bins' centres must come back
FIT = dict(hidden=8, epochs=5, batch_size=50, seed=4, device="cpu", block_images=5, dropout=0.2, bins=6,
           image_weight=0.01)


def _kill_after(epochs_done):
    def progress(epoch, loss):
        if epoch + 1 == epochs_done:
            raise Killed
    return progress


def _same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.net.state_dict().values(), b.net.state_dict().values()))


def test_a_run_killed_between_epochs_goes_on_and_ends_where_an_uninterrupted_run_does(tmp_path):
    whole = train_network_streaming(Source(), **FIT)
    state = str(tmp_path / "epochs" / "L0_C000.safetensors")
    with pytest.raises(Killed):
        train_network_streaming(Source(), checkpoint=state, checkpoint_key="k", progress=_kill_after(3), **FIT)
    source, seen = Source(), []
    resumed = train_network_streaming(source, checkpoint=state, checkpoint_key="k",
                                      progress=lambda e, loss: seen.append(e), **FIT)
    assert _same_weights(resumed, whole)
    np.testing.assert_array_equal(resumed.centres, whole.centres)
    np.testing.assert_array_equal(resumed.mean, whole.mean)
    assert resumed.history == whole.history and seen == [0, 1, 2, 3, 4]  # a progress bar counts all five
    assert source.loaded == 2 * 12  # only the two epochs left; no moments' pass


def test_the_state_of_another_run_or_a_damaged_one_is_not_used(tmp_path):
    whole = train_network_streaming(Source(), **FIT)
    state = tmp_path / "L0_C000.safetensors"
    with pytest.raises(Killed):
        train_network_streaming(Source(), checkpoint=str(state), checkpoint_key="k", progress=_kill_after(2), **FIT)
    for key, fit in (("other data", FIT), ("k", {**FIT, "lr": FIT.get("lr", 2e-3) / 2})):
        source = Source()
        fresh = train_network_streaming(source, checkpoint=str(state), checkpoint_key=key, **fit)
        assert source.loaded == 12 * (1 + fit["epochs"])  # the moments' pass and every epoch
        assert _same_weights(fresh, whole) == (fit is FIT)
    with pytest.raises(Killed):
        train_network_streaming(Source(), checkpoint=str(state), checkpoint_key="k", progress=_kill_after(2), **FIT)
    state.write_bytes(state.read_bytes()[:-100])  # cut short
    source = Source()
    again = train_network_streaming(source, checkpoint=str(state), checkpoint_key="k", **FIT)
    assert _same_weights(again, whole) and source.loaded == 12 * 6


def test_a_training_killed_in_a_streamed_network_resumes_at_its_epoch(trained, tmp_path, monkeypatch):
    """``deepcolor train --resume`` after a kill in the third of four epochs trains only the fourth."""
    import deepcolor.networks.streaming as streaming
    from deepcolor.core.settings import FeatureSettings, TrainSettings
    from deepcolor.data import folder_dataset
    from deepcolor.networks.chroma import ChromaNetwork
    from deepcolor.pipeline import train_model

    settings = TrainSettings(clusters=1, max_layers=1, epochs=4, batch_size=256, stream_rows=1, dropout=0.1)
    run = dict(parser=str(trained["base"] / "parser"), cache=str(trained["base"] / "cache"), progress=False,
               log=lambda m: None)
    records = folder_dataset(trained["images"])
    train_model(records, tmp_path / "whole", settings, FeatureSettings(samples=100), **run)

    save, saved = streaming.save_epoch_state, []

    def save_then_die(path, fingerprint, **state):
        save(path, fingerprint, **state)
        saved.append(path)
        if state["epochs_done"] == 2:
            raise Killed

    monkeypatch.setattr(streaming, "save_epoch_state", save_then_die)
    with pytest.raises(Killed):
        train_model(records, tmp_path / "m", settings, FeatureSettings(samples=100), **run)
    assert saved and all(p.startswith(str(tmp_path / "m" / "checkpoints" / "epochs")) for p in saved)
    saved.clear()
    monkeypatch.setattr(streaming, "save_epoch_state", lambda path, fingerprint, **state: saved.append(state))
    train_model(records, tmp_path / "m", settings, FeatureSettings(samples=100), resume=True, **run)
    assert [s["epochs_done"] for s in saved] == [3]  # epochs 3 and 4 trained; no state after the last
    name = "networks/L0_C000.safetensors"
    a, b = (ChromaNetwork.load(str(tmp_path / m / name), device="cpu") for m in ("whole", "m"))
    assert _same_weights(a, b) and a.history == b.history
    assert not list((tmp_path / "m" / "checkpoints" / "epochs").iterdir())  # removed once the network is saved


def test_reading_ahead_in_a_thread_gives_the_network_reading_in_turn_gives():
    in_turn, ahead = Source(), Source()
    a = train_network_streaming(in_turn, prefetch=False, **FIT)
    b = train_network_streaming(ahead, **FIT)
    assert _same_weights(a, b) and a.history == b.history
    # the same images in the same order, each read once a pass (one by one: image_weight):
    # the moments' pass, then five epochs
    assert [p for p, _ in ahead.calls] == [p for p, _ in in_turn.calls] and len(ahead.calls) == 12 * 6
    assert {t for _, t in in_turn.calls} == {threading.current_thread().name}
    assert all(t.startswith("deepcolor-read-ahead") for _, t in ahead.calls)
