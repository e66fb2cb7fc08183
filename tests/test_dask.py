"""Training on a Dask cluster (``--scheduler``) and from the feature cache in blocks (streaming).

A LocalCluster of 2 worker processes trains the tiny generated set of test_pipeline and must
give the same model files as joblib; a worker killed mid-run is replaced and the model is
still complete and the same; a client killed mid-run resumes with ``--resume``.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from deepcolor.core.parallel import SchedulerError, parse_scheduler, scheduler_session
from deepcolor.core.settings import TrainSettings
from deepcolor.pipeline import Colorizer, train_model
from test_pipeline import FAST, FEATURES, make_images, make_parser, records_of

pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")

#: More clusters than workers, so that tasks are in flight when a worker is killed.
SETTINGS = dict(FAST, clusters=4, mu=3)


def network_hashes(model_dir):
    with open(os.path.join(model_dir, "model.json")) as handle:
        model = json.load(handle)
    assert model["complete"] is True
    return {k: v for k, v in model["files"].items() if k.startswith("networks/")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    images = make_images(str(base / "images"), n=16)
    parser = make_parser(str(base / "parser"))
    model = str(base / "joblib")
    train_model(records_of(images), model, TrainSettings(**SETTINGS), FEATURES, parser=parser,
                cache=str(base / "cache-joblib"), jobs=2, progress=False, log=lambda m: None)
    return {"base": base, "images": images, "parser": parser, "model": model, "hashes": network_hashes(model)}


def test_parse_scheduler():
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://10.0.0.1:8786") == ("address", "tcp://10.0.0.1:8786")
    assert parse_scheduler("node7:8786") == ("address", "tcp://node7:8786")
    for bad in ("local:0", "local:x", "", "two words"):
        with pytest.raises(SchedulerError):
            parse_scheduler(bad)


def test_local_cluster_trains_the_same_model_as_joblib(reference):
    base = reference["base"]
    model = str(base / "dask")
    with scheduler_session("local:2") as session:
        assert session.jobs == 2 and session.client is not None
        train_model(records_of(reference["images"]), model, TrainSettings(**SETTINGS), FEATURES,
                    parser=reference["parser"], cache=str(base / "cache-dask"), jobs=session.jobs, progress=False,
                    log=lambda m: None)
    assert network_hashes(model) == reference["hashes"]
    with open(os.path.join(model, "manifest.json")) as handle:
        manifest = json.load(handle)
    assert manifest["engine"].startswith("Dask LocalCluster")
    assert len(manifest["peak_rss_mb"]["dask_workers"]) == 2
    assert Colorizer.load(model).colorize(np.full((20, 24), 128, np.uint8)).shape == (20, 24, 3)


def test_a_mixed_cluster_trains_the_networks_on_its_gpu_workers(reference):
    """A worker started with ``--resources GPU=1`` takes every network; the model is the same."""
    from dask.distributed import Client, LocalCluster, get_task_stream

    base = reference["base"]
    model = str(base / "dask-mixed")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        gpu = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
                                "--nthreads", "1", "--resources", "GPU=1", "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with Client(cluster.scheduler_address) as watcher:
                watcher.wait_for_workers(2, timeout=60)
                gpu_worker = next(a for a, w in watcher.scheduler_info()["workers"].items() if w.get("resources"))
                with scheduler_session(cluster.scheduler_address) as session, get_task_stream(session.client) as stream:
                    train_model(records_of(reference["images"]), model, TrainSettings(**SETTINGS), FEATURES,
                                parser=reference["parser"], cache=str(base / "cache-mixed"), jobs=session.jobs,
                                progress=False, log=lambda m: None)
        finally:
            gpu.terminate()
            gpu.wait(30)
    where = {}
    for task in stream.data:
        kind = "networks" if "cluster_job" in str(task["key"]) else "other"
        where.setdefault(kind, set()).add(task["worker"])
    assert where["networks"] == {gpu_worker}
    assert len(where["other"]) == 2  # the feature stage used both workers
    assert network_hashes(model) == reference["hashes"]


def test_a_killed_worker_is_replaced_and_the_model_is_the_same(reference):
    base = reference["base"]
    model = str(base / "dask-killed")
    errors = []
    with scheduler_session("local:2") as session:
        def run():
            try:
                train_model(records_of(reference["images"]), model, TrainSettings(**SETTINGS), FEATURES,
                            parser=reference["parser"], cache=str(base / "cache-killed"), jobs=session.jobs,
                            progress=False, log=lambda m: None)
            except Exception as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        # kill a worker while the first layer's networks are being trained
        deadline = time.time() + 120
        networks = os.path.join(model, "networks")
        while time.time() < deadline and not (os.path.isdir(networks) and os.listdir(networks)):
            time.sleep(0.05)
        pids = session.client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        thread.join(300)
    assert not thread.is_alive() and not errors
    assert network_hashes(model) == reference["hashes"]


def test_asking_the_workers_peak_memory_survives_a_worker_that_just_died():
    """The manifest's peak-memory query broadcasts to every worker; one killed a moment before
    (the scheduler not told yet) is left out instead of failing the training run."""
    with scheduler_session("local:2") as session:
        pids = session.client.run(os.getpid)
        killed, kept = list(pids)
        os.kill(pids[killed], signal.SIGKILL)
        for _ in range(20):  # the race is in the first moments after the kill
            peaks = session.worker_peak_mb()
            assert kept in peaks and all(mb > 0 for mb in peaks.values())  # a replacement may answer too
            time.sleep(0.05)


def test_resume_after_the_client_is_killed(reference, tmp_path):
    model = str(tmp_path / "model")
    command = [sys.executable, "-m", "deepcolor", "train", "--dataset", f"folder:{reference['images']}", "-o", model,
               "--parser", reference["parser"], "--cache", str(tmp_path / "cache"), "--scheduler", "local:2",
               "--samples", str(FEATURES.samples), "--quiet"] + [
        f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items()]
    client = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = os.path.join(model, "checkpoints")
    deadline = time.time() + 180
    while time.time() < deadline and client.poll() is None and not (
            os.path.isdir(checkpoints) and any(f.endswith(".json") for f in os.listdir(checkpoints))):
        time.sleep(0.05)
    os.killpg(client.pid, signal.SIGKILL)  # the client and its LocalCluster's workers
    client.wait()
    model_file = os.path.join(model, "model.json")
    if os.path.isfile(model_file):  # killed mid-run: whatever was written says so
        with open(model_file) as handle:
            assert json.load(handle)["complete"] is False
    done = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # the same command without Dask, uninterrupted (the CLI names records by dataset, so its
    # samples differ from the Python API's reference above)
    plain = [a if a != model else str(tmp_path / "plain") for a in command]
    plain = plain[:plain.index("--scheduler")] + ["--jobs", "2"] + plain[plain.index("--scheduler") + 2:]
    assert subprocess.run(plain, capture_output=True, timeout=300).returncode == 0
    assert network_hashes(model) == network_hashes(str(tmp_path / "plain"))


class _Source:
    """A cluster of synthetic images in memory, loaded block by block (recording block sizes)."""

    def __init__(self, images=40, rows=50, dim=6, seed=0):
        rng = np.random.default_rng(seed)
        self.feats = [rng.normal(3.0, 2.0, (rows, dim)).astype(np.float32) for _ in range(images)]
        w = rng.normal(0, 0.05, (dim, 2))
        self.targets = [np.tanh(f @ w).astype(np.float32) for f in self.feats]
        self.loaded = []

    def __len__(self):
        return len(self.feats)

    def load(self, positions):
        self.loaded.append(len(positions))
        return np.concatenate([self.feats[p] for p in positions]), np.concatenate([self.targets[p] for p in positions])


def test_streaming_training_matches_the_in_memory_moments_and_learns():
    from deepcolor.networks import train_network
    from deepcolor.networks.chroma import standardization
    from deepcolor.networks.streaming import train_network_streaming

    source = _Source()
    feats, targets = np.concatenate(source.feats), np.concatenate(source.targets)
    streamed = train_network_streaming(source, epochs=8, batch_size=64, seed=1, device="cpu", block_images=7)
    mean, std = standardization(feats)
    np.testing.assert_allclose(streamed.mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(streamed.std, std, rtol=1e-5)
    assert max(source.loaded) <= 7  # memory: one block of images at a time
    assert streamed.config["samples"] == len(feats) and len(streamed.history) == 8
    assert streamed.history[-1] < 0.5 * streamed.history[0]
    in_memory = train_network(feats, targets, epochs=8, batch_size=64, seed=1, device="cpu")
    baseline = float(np.mean(targets ** 2))  # predicting zero
    for net in (streamed, in_memory):
        assert float(np.mean((net.predict(feats) - targets) ** 2)) < 0.3 * baseline


def test_large_clusters_train_streamed_in_the_pipeline(reference, tmp_path):
    model = str(tmp_path / "streamed")
    # every cluster of the tiny set is above 1 row: all of them stream
    train_model(records_of(reference["images"]), model, TrainSettings(**SETTINGS, stream_rows=1), FEATURES,
                parser=reference["parser"], cache=str(reference["base"] / "cache-joblib"), progress=False,
                log=lambda m: None)
    assert network_hashes(model)
    with open(os.path.join(model, "model.json")) as handle:
        clusters = json.load(handle)["clusters"]
    net = Colorizer.load(model).network(Colorizer.load(model).clusters[0])
    assert "streamed" in net.config and clusters
