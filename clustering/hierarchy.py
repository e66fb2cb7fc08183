"""The cluster hierarchy of adaptive image clustering and its test-time lookup.

Every cluster records its layer, gist centre, semantic histogram, members (image names),
the members' training PSNR and the file of its network. :func:`lookup` implements the
paper's cluster choice: over the clusters of all layers, the ``k`` nearest gist centres
(Euclidean), then among them the highest cosine similarity of semantic histograms.
With ``blend`` > 1 it also names the clusters whose networks' predictions are averaged
(our extension; see :func:`lookup`).
"""

import dataclasses

import numpy as np

from deepcolor.core.settings import ColorizeSettings


@dataclasses.dataclass
class Cluster:
    """One cluster of one layer.

    Attributes
    ----------
    layer, index : int
    centre : ndarray (G,) float32, gist centre (k-means)
    histogram : ndarray (N,) float32, semantic histogram of its members (fraction of
        pixels whose most probable class is each class); empty when the model has no
        semantic feature
    members : list of str
    psnrs : list of float, training PSNR of each member (full image, its cluster's network)
    network : str, file of the network relative to the model directory
    ensemble : list of str, files of the cluster's further networks (``--ensemble``), trained
        alike from other seeds; colorization averages all of them with ``network``
    history : list of float, training loss per epoch
    """

    layer: int
    index: int
    centre: np.ndarray
    histogram: np.ndarray
    members: list
    psnrs: list = dataclasses.field(default_factory=list)
    network: str = ""
    history: list = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    ensemble: list = dataclasses.field(default_factory=list)

    @property
    def name(self):
        return cluster_name(self.layer, self.index)

    @property
    def networks(self):
        """Files of all the cluster's networks: ``network``, then ``ensemble``."""
        return [self.network] + list(self.ensemble)

    @property
    def mean_psnr(self):
        return float(np.mean(self.psnrs)) if len(self.psnrs) else float("nan")

    def to_json(self):
        # "ensemble" only when there is one: a one-network cluster's record is as it always was
        return {
            "layer": int(self.layer),
            "index": int(self.index),
            "name": self.name,
            "centre": [float(x) for x in np.asarray(self.centre).ravel()],
            "histogram": [float(x) for x in np.asarray(self.histogram).ravel()],
            "members": list(self.members),
            "psnrs": [float(x) for x in self.psnrs],
            "mean_psnr": None if not len(self.psnrs) else round(self.mean_psnr, 4),
            "network": self.network,
            **({"ensemble": list(self.ensemble)} if self.ensemble else {}),
            "history": [float(x) for x in self.history],
            "train_seconds": float(self.train_seconds),
        }

    @classmethod
    def from_json(cls, obj):
        return cls(
            layer=int(obj["layer"]),
            index=int(obj["index"]),
            centre=np.asarray(obj["centre"], dtype=np.float32),
            histogram=np.asarray(obj.get("histogram", []), dtype=np.float32),
            members=list(obj.get("members", [])),
            psnrs=list(obj.get("psnrs", [])),
            network=obj.get("network", ""),
            ensemble=list(obj.get("ensemble", [])),
            history=list(obj.get("history", [])),
            train_seconds=float(obj.get("train_seconds", 0.0)),
        )


def cluster_name(layer, index):
    return f"L{int(layer)}_C{int(index):03d}"


def cosine_similarity(a, b):
    """Cosine of the angle between ``a`` and ``b`` (0 when either is all zeros)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


@dataclasses.dataclass
class LookupResult:
    cluster: Cluster
    candidates: list  # [(cluster name, gist distance, cosine similarity)]
    blend: list = dataclasses.field(default_factory=list)  # clusters averaged; empty: ``cluster`` alone

    @property
    def chosen(self):
        """The clusters whose networks colorize the image (the pick alone, or the blend)."""
        return self.blend or [self.cluster]

    def describe(self):
        parts = [f"{name} (gist dist {d:.4f}, cos {s:.3f})" for name, d, s in self.candidates]
        text = f"cluster {self.cluster.name} (layer {self.cluster.layer}); candidates: " + ", ".join(parts)
        if self.blend:
            text += "; blended: " + ", ".join(c.name for c in self.blend)
        return text


def lookup(clusters, gist, histogram=None, k=ColorizeSettings.lookup_k, blend=1):
    """Pick the cluster for a target image.

    Parameters
    ----------
    clusters : list of Cluster (all layers)
    gist : ndarray (G,)
    histogram : ndarray (N,) or None
        Target's semantic histogram; ``None`` (or clusters without histograms) picks the
        nearest gist centre.
    k : int
        How many nearest gist centres compete on semantic similarity (1 = gist only).
    blend : int
        1 (the paper): the pick alone colorizes. ``blend`` > 1 (our extension): the
        networks of the ``blend`` nearest gist centres are averaged, the pick always among
        them (it replaces the farthest when ``blend`` < ``k``). Averaging trades the
        paper's hard choice for lower variance; the model manifest has the measurements.

    Returns
    -------
    LookupResult
    """
    if int(blend) < 1:
        raise ValueError(f"blend must be >= 1, got {blend}")
    if not clusters:
        raise ValueError("the model has no clusters")
    gist = np.asarray(gist, dtype=np.float64).ravel()
    centres = np.stack([np.asarray(c.centre, dtype=np.float64).ravel() for c in clusters])
    if centres.shape[1] != gist.shape[0]:
        raise ValueError(f"gist has {gist.shape[0]} dims but the cluster centres have {centres.shape[1]}")
    dist = np.linalg.norm(centres - gist[None], axis=1)
    # stable order: ties broken by position (layer, index)
    ranked = np.argsort(dist, kind="stable")
    order = ranked[: max(1, int(k))]
    use_semantic = histogram is not None and np.size(histogram) > 0 and all(np.size(clusters[i].histogram) for i in order)
    candidates = []
    best, best_sim = None, -np.inf
    for i in order:
        sim = cosine_similarity(histogram, clusters[i].histogram) if use_semantic else float("nan")
        candidates.append((clusters[i].name, float(dist[i]), sim))
        if best is None or (use_semantic and sim > best_sim + 1e-12):
            best, best_sim = i, sim
    mixed = []
    if int(blend) > 1:
        mixed = [int(i) for i in ranked[: int(blend)]]
        if best not in mixed:
            mixed[-1] = int(best)
    return LookupResult(clusters[best], candidates, [clusters[i] for i in mixed])
