"""The training data of the colorization networks, as stored in the feature cache.

For each reference image the cache (:mod:`deepcolor.data.cache`) holds the feature
vectors at N_s sampled pixels (:mod:`deepcolor.data.sampling`) with their targets U/255,
V/255, the gist and the semantic histogram: about 0.37 MB per image at D = 89, whatever
the parser's class count. A :class:`TrainingSet` holds only the small per-image data
(gists, histograms, cache keys); samples are read back per cluster. Judging an image
(colorizing it whole during adaptive clustering) needs its full semantic map: caches
written before this version stored it (float16, 1 MB per 256x256 image at 8 classes,
4 MB at 33, which would make a 24,000-image store 100 GB); it is now recomputed from
the parser, rounded through float16 as stored maps were, so both give the same judging.
The extraction itself is pipeline work: :mod:`deepcolor.pipeline.training_set`.
"""

import dataclasses

import numpy as np

from deepcolor.core.settings import FeatureSettings
from deepcolor.data.cache import FeatureCache


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """What the cached features depend on: the cache key hashes it with the image file."""

    samples: int = FeatureSettings.samples
    seed: int = 0
    semantic: bool = FeatureSettings.semantic
    parser_id: str = ""
    feature_version: str = ""
    gist_version: str = ""
    #: Append the local context (:mod:`deepcolor.features.context`) to each sample's
    #: features; computed when the samples are read, never cached, so not in the key.
    context: bool = False
    #: Append AlexNet's conv5 at each sample (:mod:`deepcolor.features.alexnet`); cached in
    #: entries of their own (:attr:`TrainingSet.deep_keys`), so not in this key either.
    alexnet: bool = False
    #: The deep network's layers read (:func:`deepcolor.features.deep.net_layers`), in those entries' keys.
    alexnet_layers: tuple = (5,)
    #: ... of this network (:data:`deepcolor.features.deep.DEEP_NETS`), in those keys too.
    deep_net: str = "alexnet"

    def to_json(self):
        """The cache key's part: every field but ``context`` and the AlexNet ones."""
        out = dataclasses.asdict(self)
        del out["context"], out["alexnet"], out["alexnet_layers"], out["deep_net"]
        return out


@dataclasses.dataclass
class TrainingSet:
    """The small per-image data of a training set; samples stay in the cache."""

    names: list
    paths: list
    keys: list
    gists: np.ndarray
    histograms: np.ndarray
    config: FeatureConfig
    cache_root: str
    failed: list = dataclasses.field(default_factory=list)
    #: The scene parser (folder) whose maps :meth:`semantic` recomputes; None without semantics.
    parser: object = None
    #: The cache entries holding each image's deep vectors at its samples (``"deep"``,
    #: float16); set by :func:`deepcolor.pipeline.training_set.prepare_deep`.
    deep_keys: list = None
    #: ``(mean, components)``: the PCA through which the samples give conv5
    #: (:func:`deepcolor.features.deep.fit_net_projection`); None: all the numbers.
    deep_projection: tuple = None
    #: The entries of ``deep_keys`` hold the vectors through ``deep_projection`` already
    #: (:func:`deepcolor.pipeline.training_set.prepare_deep` with a projection).
    deep_projected: bool = False

    def __len__(self):
        return len(self.names)

    def samples(self, indices):
        """Concatenated ``(feats (n, D), targets (n, 2))`` of the images at ``indices``."""
        cache = FeatureCache(self.cache_root)
        feats, targets = [], []
        for i in indices:
            data = cache.load(self.keys[i], ["feats", "targets"])
            if data is None:
                raise FileNotFoundError(f"{self.paths[i]}: features missing from the cache {self.cache_root}")
            parts = [data["feats"]]
            if self.config.context:
                parts.append(self._context(i, len(data["feats"])))
            if self.config.alexnet:
                parts.append(self._deep(i, len(data["feats"]), cache))
            feats.append(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1))
            targets.append(data["targets"])
        return np.concatenate(feats), np.concatenate(targets)

    def _deep(self, index, count, cache):
        data = cache.load(self.deep_keys[index], ["deep"]) if self.deep_keys else None
        if data is None:
            raise FileNotFoundError(f"{self.paths[index]}: AlexNet features missing from the cache {self.cache_root}")
        if data["deep"].shape[0] != count:
            raise ValueError(f"{self.paths[index]}: {count} cached samples but {data['deep'].shape[0]} AlexNet vectors")
        deep = data["deep"].astype(np.float32)
        if self.deep_projection is None or self.deep_projected:
            return deep
        mean, components = self.deep_projection  # as deepcolor.features.alexnet.project
        return ((deep - mean) @ components.T).astype(np.float32, copy=False)

    def _context(self, index, count):
        # the image is read again: a blur and a gather (about 1 ms at 256x256) cost less
        # than a cache entry per image and keep the paper's cached features valid
        from deepcolor.core.color import rgb2gray
        from deepcolor.core.io import load_rgb
        from deepcolor.data.sampling import image_seed, sample_pixels
        from deepcolor.features import context_features

        gray = rgb2gray(load_rgb(self.paths[index]))
        rows, cols = sample_pixels(gray.shape, self.config.samples, image_seed(self.names[index], self.config.seed))
        if rows.shape[0] != count:
            raise ValueError(f"{self.paths[index]}: {count} cached samples, but the image gives {rows.shape[0]}; "
                             "it changed since its features were cached")
        return context_features(gray, rows, cols)

    def source(self, indices):
        """The samples of the images at ``indices`` as a streaming source
        (:func:`deepcolor.networks.streaming.train_network_streaming`): ``len`` images and
        ``load(positions)``, read from the cache on demand."""
        return ClusterSamples(self, list(indices))

    def semantic(self, index, gray=None):
        """The full semantic map (H, W, N) float32 of image ``index`` (``gray``: its gray
        image, when already loaded): from an older cache that stored it, else recomputed."""
        if not self.config.semantic:
            return None
        data = FeatureCache(self.cache_root).load(self.keys[index], ["semantic"])
        if data is not None:
            return data["semantic"].astype(np.float32)
        if self.parser is None:
            raise FileNotFoundError(f"{self.paths[index]}: no semantic map in the cache {self.cache_root} and no "
                                    "parser to recompute it")
        from deepcolor.features import semantic_probabilities

        if gray is None:
            from deepcolor.core.color import rgb2gray
            from deepcolor.core.io import load_rgb

            gray = rgb2gray(load_rgb(self.paths[index]))
        # rounded as the stored maps were, so that judging does not depend on the cache's age
        return semantic_probabilities(gray, self.parser).astype(np.float16).astype(np.float32)


class ClusterSamples:
    """Some images of a :class:`TrainingSet`, whose samples are read from the cache when asked."""

    def __init__(self, tset, indices):
        self.tset, self.indices = tset, indices

    def __len__(self):
        return len(self.indices)

    def load(self, positions):
        """``(feats, targets)`` of the images at ``positions`` (0..len-1), concatenated."""
        return self.tset.samples([self.indices[int(p)] for p in positions])
