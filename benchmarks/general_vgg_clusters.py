"""Whether clusters of images by what VGG16 sees in them, one network each, give
``general-vgg``'s kind of model more colour or PSNR on held-out images of the test's kind
(``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_clusters.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_clusters.json

The issue behind the general model expects "vivid and right" colour from better-matched
clusters. The paper clusters images by gist and the semantic histogram; with those, 48
clusters lost to one network on held-out classes (``general_limits.py``), and with AlexNet's
conv5 each cluster's network learned its few hundred images (README). Here an image is
described by the mean over its pixels of the network's own VGG16 input (relu4_3 + relu5_3
through the PCA to 128), which names objects rather than layouts; k-means puts the training
images into ``--clusters`` groups, one network is trained per group on its images' rows, and
each held-out image goes to the network of the nearest centre (its mean over the prediction
grid, for whole images). Input dropout 0.4 guards every network against learning its images
(``general_vgg_fitting.py``), and each layout is fitted two ways: the plain squared error
(colour) and each image weighted by 1 / (its chroma energy + 0.004) (``--image-weight``, PSNR).
One cluster is one network, the reference.
"""

import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_capacity import held_out_study, image_weight_rows, imagenet_row, vgg_rows


class Routed:
    """One network per cluster of images; an image is colorized by the network of the
    centre nearest the mean of its projected VGG16 columns (the last ``dims`` inputs)."""

    def __init__(self, centres, networks, dims):
        self.centres, self.networks, self.dims = centres, networks, dims
        self.input_dim = networks[0].input_dim

    def nearest(self, columns):
        mean = columns.reshape(-1, self.dims).mean(axis=0)
        return int(np.argmin(((self.centres - mean) ** 2).sum(axis=1)))

    def for_image(self, grid):
        """The network for one whole image, from its projected columns at the prediction grid."""
        return self.networks[self.nearest(grid)]

    def predict_images(self, feats, per_image):
        """Predictions for rows that come ``per_image`` to an image, each image routed alone."""
        out = np.empty((feats.shape[0], 2), np.float32)
        for start in range(0, feats.shape[0], per_image):
            rows = feats[start:start + per_image]
            out[start:start + per_image] = self.networks[self.nearest(rows[:, -self.dims:])].predict(rows)
        return out


def study(ho, deep, dims, counts, log):
    from sklearn.cluster import KMeans

    from deepcolor.networks import train_network

    log("fitting the PCA on a tenth of the training pixels")
    part, sub, held = vgg_rows(ho, deep, dims)
    targets = ho.targets[ho.sub_rows]
    per_train = len(sub) // len(ho.train)  # the sub rows come image by image, the same count each
    described = sub[:, -128:].reshape(len(ho.train), per_train, 128).mean(axis=1)
    weight = image_weight_rows(ho, 0.004)
    rows, networks = [], {}
    for k in counts:
        labels = np.zeros(len(ho.train), int)
        centres = described.mean(axis=0, keepdims=True)
        if k > 1:
            km = KMeans(k, n_init=4, random_state=0).fit(described)
            labels, centres = km.labels_, km.cluster_centers_
        log(f"{k} clusters: images per cluster {sorted(np.bincount(labels, minlength=k).tolist())}")
        members = np.repeat(labels, per_train)
        for fitting, weighted in (("plain loss", False), ("images weighted 1/(energy + 0.004)", True)):
            name = f"{k} cluster{'s' if k > 1 else ''}, {fitting}, input dropout 0.4"
            start = time.perf_counter()
            nets = [train_network(sub[members == c], targets[members == c], epochs=5, seed=c, device="cpu",
                                  dropout=0.4, sample_weight=weight[members == c] if weighted else None)
                    for c in range(k)]
            router = Routed(centres, nets, 128)
            log(f"  {name}: {time.perf_counter() - start:.0f} s")
            rows.append(imagenet_row(ho, name, router.predict_images(held, ho.per_image), log,
                                     clusters=k, weighted=weighted))
            networks[name] = (router, part)
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        result["clusters"] = args.clusters
        return study(ho, deep, dims, args.clusters, log)

    return held_out_study(__doc__, argv, lambda p: p.add_argument(
        "--clusters", type=int, nargs="+", default=[1, 4, 8, 16], help="cluster counts (1: one network)"), run)


if __name__ == "__main__":
    sys.exit(main())
