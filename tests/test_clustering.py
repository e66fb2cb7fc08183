import json

import numpy as np
import pytest

from deepcolor.clustering import Cluster, build_hierarchy, cosine_similarity, kmeans, lookup
from deepcolor.features.semantic import semantic_histogram


def _cluster(i, centre, hist, layer=0):
    return Cluster(layer, i, np.asarray(centre, np.float32), np.asarray(hist, np.float32), [f"m{i}"])


def test_lookup_nearest_k_then_semantic_cosine():
    clusters = [
        _cluster(0, [0, 0], [1, 0, 0]),
        _cluster(1, [1, 0], [0, 1, 0]),
        _cluster(2, [0, 1.5], [0, 0, 1]),
        _cluster(3, [10, 10], [0, 1, 0]),  # semantically perfect but far in gist
    ]
    target_gist, target_hist = [0.1, 0.1], [0.1, 0.9, 0.0]
    res = lookup(clusters, target_gist, target_hist, k=3)
    assert res.cluster.index == 1  # among the 3 nearest, best cosine
    assert [c[0] for c in res.candidates] == ["L0_C000", "L0_C001", "L0_C002"]
    assert "L0_C001" in res.describe()
    # k = 1: the nearest gist centre, semantics ignored
    assert lookup(clusters, target_gist, target_hist, k=1).cluster.index == 0
    # k = 2: cluster 2 is out of the candidates
    assert lookup(clusters, target_gist, [0, 0, 1], k=2).cluster.index == 0
    assert lookup(clusters, target_gist, [0, 0, 1], k=3).cluster.index == 2
    # no histogram: the nearest gist centre
    assert lookup(clusters, target_gist, None, k=3).cluster.index == 0


def test_lookup_spans_layers_and_checks_dims():
    clusters = [_cluster(0, [0, 0], [1, 0]), _cluster(0, [5, 5], [0, 1], layer=1)]
    assert lookup(clusters, [4, 4], [0, 1]).cluster.layer == 1
    with pytest.raises(ValueError):
        lookup(clusters, [1, 2, 3], [0, 1])
    with pytest.raises(ValueError):
        lookup([], [1, 2], None)


def test_cosine_and_histogram():
    assert cosine_similarity([1, 0], [1, 0]) == pytest.approx(1)
    assert cosine_similarity([1, 0], [0, 1]) == pytest.approx(0)
    assert cosine_similarity([0, 0], [0, 1]) == 0.0
    probs = np.zeros((2, 2, 3), np.float32)
    probs[0, :, 0] = 1
    probs[1, 0, 2] = 1
    probs[1, 1, 1] = 1
    np.testing.assert_allclose(semantic_histogram(probs), [0.5, 0.25, 0.25])


def test_kmeans_is_seeded_and_numbers_clusters_in_order():
    rng = np.random.default_rng(0)
    g = np.concatenate([rng.normal(0, 0.1, (10, 4)), rng.normal(5, 0.1, (10, 4))])
    c1, l1 = kmeans(g, 2, seed=1)
    c2, l2 = kmeans(g, 2, seed=1)
    assert np.array_equal(l1, l2) and np.allclose(c1, c2)
    assert l1[0] == 0 and set(l1[:10]) == {0} and set(l1[10:]) == {1}
    c, l = kmeans(g[:3], 10)
    assert len(c) == 3  # never more clusters than images


def test_kmeans_above_the_size_limit_is_minibatch_and_still_seeded(monkeypatch):
    import sklearn.cluster

    import deepcolor.clustering.adaptive as adaptive

    rng = np.random.default_rng(0)
    g = np.concatenate([rng.normal(0, 0.1, (300, 4)), rng.normal(5, 0.1, (300, 4)), rng.normal(-5, 0.1, (300, 4))])
    full_c, full_l = kmeans(g, 3, seed=2)
    fitted = []

    class Spy(sklearn.cluster.MiniBatchKMeans):
        def fit(self, X, y=None, sample_weight=None):
            fitted.append(X.dtype)
            return super().fit(X)

    monkeypatch.setattr(sklearn.cluster, "MiniBatchKMeans", Spy)
    monkeypatch.setattr(adaptive, "MINIBATCH_KMEANS_ABOVE", 100)
    c1, l1 = kmeans(g, 3, seed=2)
    c2, l2 = kmeans(g, 3, seed=2)
    assert fitted == [np.float32, np.float32]  # the minibatch path, on float32 gists
    assert np.array_equal(l1, l2) and np.allclose(c1, c2)  # seeded
    # the same three groups, numbered by first appearance, as the full k-means finds
    assert np.array_equal(l1, full_l) and np.allclose(c1, full_c, atol=1e-3)


class FakeTrainer:
    """PSNR of an image = a fixed value per image, plus a bonus on lower layers."""

    def __init__(self, psnr_of, fail_after=None):
        self.psnr_of = psnr_of
        self.calls = []
        self.fail_after = fail_after

    def __call__(self, tasks):
        for task in tasks:
            if self.fail_after is not None and len(self.calls) >= self.fail_after:
                raise KeyboardInterrupt("killed")
            layer, index, members = task
            self.calls.append((layer, index))
            yield task, {"network": f"networks/L{layer}_{index}.st",
                         "psnrs": [self.psnr_of[m] + 2.0 * layer for m in members], "history": [1.0, 0.5]}


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"img{i:03d}" for i in range(n)]
    gists = rng.normal(size=(n, 8)).astype(np.float32)
    hists = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
    psnr = {i: 20.0 + 8.0 * (i % 4 == 0) + 0.1 * (i % 7) for i in range(n)}
    return names, gists, hists, psnr


def test_algorithm3_layers():
    names, gists, hists, psnr = _data()
    trainer = FakeTrainer(psnr)
    clusters, layers = build_hierarchy(names, gists, hists, trainer, n0=4, mu=8, min_psnr=26.0)
    # layer 0: all 40 images in 4 clusters; images i % 4 == 0 (28+ dB) leave -> 30 left
    assert layers[0] == {"layer": 0, "images": 40, "clusters": 4, "removed": 10,
                         "mean_psnr": pytest.approx(layers[0]["mean_psnr"])}
    # layer 1: 30 / 8 = 3 clusters; +2 dB on this layer removes nobody (20..20.6 + 2 < 26)
    assert layers[1]["images"] == 30 and layers[1]["clusters"] == 3 and layers[1]["removed"] == 0
    assert len(layers) == 2  # stops: nothing removed
    top = [c for c in clusters if c.layer == 0]
    assert sorted(m for c in top for m in c.members) == sorted(names)
    assert all(c.histogram.shape == (3,) for c in clusters)
    np.testing.assert_allclose(top[0].histogram, hists[[names.index(m) for m in top[0].members]].mean(0), rtol=1e-5)
    assert all(len(c.psnrs) == len(c.members) for c in clusters)
    assert all(not any(names.index(m) % 4 == 0 for m in c.members) for c in clusters if c.layer == 1)


def test_algorithm3_stops_below_mu_and_respects_max_layers():
    names, gists, hists, _ = _data(n=30)
    psnr = {i: 30.0 if i < 25 else 20.0 for i in range(30)}  # 25 leave after layer 0
    clusters, layers = build_hierarchy(names, gists, hists, FakeTrainer(psnr), n0=3, mu=8)
    assert len(layers) == 1  # 5 left < mu
    psnr = {i: 20.0 + (i % 3 == 0) * 10 for i in range(30)}
    clusters, layers = build_hierarchy(names, gists, hists, FakeTrainer(psnr), n0=3, mu=2, max_layers=1)
    assert len(layers) == 1


def test_algorithm3_resumes_without_redoing_finished_clusters(tmp_path):
    names, gists, hists, psnr = _data()
    with pytest.raises(KeyboardInterrupt):
        build_hierarchy(names, gists, hists, FakeTrainer(psnr, fail_after=2), n0=4, mu=8, state_dir=tmp_path)
    assert len(list((tmp_path / "clusters").glob("*.json"))) == 2
    trainer = FakeTrainer(psnr)
    clusters, layers = build_hierarchy(names, gists, hists, trainer, n0=4, mu=8, state_dir=tmp_path)
    assert (0, 0) not in trainer.calls and (0, 1) not in trainer.calls
    assert sorted(c for c in trainer.calls if c[0] == 0) == [(0, 2), (0, 3)]
    fresh, fresh_layers = build_hierarchy(names, gists, hists, FakeTrainer(psnr), n0=4, mu=8)
    assert [c.to_json() for c in clusters] == [c.to_json() for c in fresh]
    saved = json.loads((tmp_path / "clusters" / "L0_C000.json").read_text())
    assert saved["members"] == clusters[0].members and len(saved["centre"]) == 8
    # a different image set cannot resume silently
    with pytest.raises(ValueError):
        build_hierarchy(names[:-1], gists[:-1], hists[:-1], FakeTrainer(psnr), n0=4, mu=8, state_dir=tmp_path)


class UnjudgedTrainer(FakeTrainer):
    """As :class:`FakeTrainer`, but returns no PSNRs on layers from ``last`` on (as
    ``_cluster_job`` does there with ``--no-last-judging``)."""

    def __init__(self, psnr_of, last):
        super().__init__(psnr_of)
        self.last = last

    def __call__(self, tasks):
        for task, result in super().__call__(tasks):
            yield task, {**result, "psnrs": [] if task[0] >= self.last else result["psnrs"]}


def test_algorithm3_without_judging_the_last_layer(tmp_path):
    names, gists, hists, psnr = _data()
    trainer = UnjudgedTrainer(psnr, last=0)
    clusters, layers = build_hierarchy(names, gists, hists, trainer, n0=4, mu=8, max_layers=1, judge_last=False,
                                       state_dir=tmp_path)
    assert layers == [{"layer": 0, "images": 40, "clusters": 4, "removed": 0, "mean_psnr": None}]
    assert all(c.psnrs == [] and c.network for c in clusters) and len(trainer.calls) == 4
    assert json.loads((tmp_path / "clusters" / "L0_C000.json").read_text())["mean_psnr"] is None
    # a resume finds the layer finished
    again = UnjudgedTrainer(psnr, last=0)
    build_hierarchy(names, gists, hists, again, n0=4, mu=8, max_layers=1, judge_last=False, state_dir=tmp_path)
    assert again.calls == []
    # going deeper, the top layer must be judged now: it is trained again and judged, the new last layer is not
    deeper = UnjudgedTrainer(psnr, last=1)
    clusters, layers = build_hierarchy(names, gists, hists, deeper, n0=4, mu=8, max_layers=2, judge_last=False,
                                       state_dir=tmp_path)
    _, judged = build_hierarchy(names, gists, hists, FakeTrainer(psnr), n0=4, mu=8, max_layers=2)
    assert sorted(c for c in deeper.calls if c[0] == 0) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert layers[0] == judged[0] and layers[1]["mean_psnr"] is None and layers[1]["images"] == 30
    # a trainer that judges a layer that should not be is an error, not silently kept
    with pytest.raises(RuntimeError, match="PSNRs"):
        build_hierarchy(names, gists, hists, FakeTrainer(psnr), n0=4, mu=8, max_layers=1, judge_last=False)


def test_cluster_json_roundtrip():
    c = Cluster(1, 2, np.arange(4, dtype=np.float32), np.array([0.5, 0.5], np.float32), ["a", "b"], [25.0, 27.0],
                "networks/x.safetensors", [0.1, 0.05], 1.5)
    back = Cluster.from_json(json.loads(json.dumps(c.to_json())))
    assert back.to_json() == c.to_json()
    assert back.mean_psnr == pytest.approx(26.0) and back.name == "L1_C002"


def test_lookup_blend_takes_the_nearest_and_keeps_the_pick():
    clusters = [
        _cluster(0, [0, 0], [1, 0, 0]),
        _cluster(1, [1, 0], [0, 1, 0]),
        _cluster(2, [0, 1.5], [0, 0, 1]),
        _cluster(3, [10, 10], [0, 1, 0]),
    ]
    res = lookup(clusters, [0.1, 0.1], [0, 0, 1], k=3, blend=2)
    assert res.cluster.index == 2  # the paper's pick is unchanged by blending
    # the 2 nearest are 0 and 1; the pick (2) replaces the farther of them
    assert [c.index for c in res.blend] == [0, 2]
    assert [c.index for c in res.chosen] == [0, 2]
    assert "blended: L0_C000, L0_C002" in res.describe()
    assert [c.index for c in lookup(clusters, [0.1, 0.1], [0, 0, 1], k=3, blend=3).chosen] == [0, 1, 2]
    assert [c.index for c in lookup(clusters, [0.1, 0.1], [0, 0, 1], k=3, blend=9).chosen] == [0, 1, 2, 3]
    single = lookup(clusters, [0.1, 0.1], [0, 0, 1], k=3)
    assert single.blend == [] and [c.index for c in single.chosen] == [2]
    with pytest.raises(ValueError, match="blend"):
        lookup(clusters, [0.1, 0.1], None, blend=0)
