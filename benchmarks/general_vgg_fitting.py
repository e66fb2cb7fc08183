"""How ``general-vgg``'s network should be fitted, chosen on held-out images of the test's
kind (``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_fitting.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_fitting.json

``general_vgg_ensemble.py`` found 10 epochs worse than 5 on whole images although the
network's training loss still fell: the network learns its training images. Each variant
here is ``general-vgg``'s network (relu4_3 + relu5_3 through a PCA to 128, three hidden
layers of D/2 units, seed 0) on the same rows, changing how it is fitted:

* 3 and 2 epochs in place of 5 (the same cosine schedule, compressed);
* dropout of 20% of the inputs while training (the network cannot lean on a few numbers
  that name a training image);
* the squared error measured in RGB instead of U, V: the benchmark's PSNR is over R, G, B,
  where an error in U weighs 4.27 and one in V 1.64 (``RGB_ERROR``), so the network is
  fitted to ``A [U, V]`` with ``A^T A`` that weighting and its outputs mapped back;
* each training image weighted by 1 / (its chroma energy + C), C 0.002, 0.004, 0.01
  (``general_limits.py``'s weighting, toward the per-image PSNR mean; it mutes colour),
  alone and with the dropout (``deepcolor train --image-weight C --dropout 0.2``);
* with dropout of 40%, alone or with the weighting (C 0.004): a wider network (512 units),
  a PCA to 256 (``general_vgg_capacity.py`` found both worse without dropout), 10 epochs.

``--variants`` runs some of them (by the names printed); the reference is every run's first.
Results: ``benchmarks/results/general_vgg_fitting.{txt,json}`` (four runs; whole images decide,
the held-out pixels rank fewer epochs above the reference and whole images below it).

Each network colorizes ``--whole`` held-out Imagenette/Imagewoof photos whole, as ``deepcolor
colorize`` does, scored by the benchmark's RGB PSNR over gray and the outputs' colourfulness.
"""

import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_deep_layers import projected
from general_vgg_capacity import held_out_study, image_weight_rows, imagenet_row

#: Squared RGB error of a chroma error (dU, dV) at fixed Y, from ``yuv2rgb``'s rows:
#: (1.14 dV)^2 + (0.39 dU + 0.58 dV)^2 + (2.03 dU)^2 = [dU dV] RGB_ERROR [dU dV]^T.
RGB_ERROR = np.array([[0.39 ** 2 + 2.03 ** 2, 0.39 * 0.58], [0.39 * 0.58, 1.14 ** 2 + 0.58 ** 2]])


class Mapped:
    """A network fitted to ``targets @ A.T`` read back as U, V (``predict`` only)."""

    def __init__(self, network, a):
        self.network, self.back = network, np.linalg.inv(a).T.astype(np.float32)
        self.input_dim = network.input_dim

    def predict(self, feats, batch=65536):
        return self.network.predict(feats, batch) @ self.back


def study(ho, deep, dims, log, chosen=None):
    from deepcolor.features.alexnet import fit_projection
    from deepcolor.networks import train_network

    n_sub = len(ho.sub_rows)
    upper = slice(dims[0], deep.shape[1])  # relu4_3 + relu5_3
    log("fitting the PCA on a tenth of the training pixels")
    wide = fit_projection(np.asarray(deep[np.arange(0, n_sub, 10), upper], np.float32), 256)
    parts = {128: (upper, (wide[0], wide[1][:128])), 256: (upper, wide)}  # principal axes are nested
    inputs = {}

    def rows_for(dim):
        if dim not in inputs:
            inputs[dim] = (np.concatenate([ho.feats[ho.sub_rows], projected(deep[:n_sub, upper], parts[dim][1])], 1),
                           np.concatenate([ho.feats[ho.held_rows], projected(deep[n_sub:, upper], parts[dim][1])], 1))
        return inputs[dim]

    targets = ho.targets[ho.sub_rows]
    a = np.linalg.cholesky(RGB_ERROR).T  # A^T A = RGB_ERROR

    def fitted(dim=128, c=None, rgb=False, **settings):
        """A training run on the PCA-``dim`` rows: images weighted with offset ``c`` (None: not),
        the loss in RGB if ``rgb``, ``settings`` to ``train_network`` (5 epochs, seed 0 unless given)."""
        settings = {"epochs": 5, "seed": 0, "device": "cpu", **settings}
        if c is not None:
            settings["sample_weight"] = image_weight_rows(ho, c)
        if rgb:
            return dim, lambda: Mapped(train_network(rows_for(dim)[0], targets @ a.T, **settings), a)
        return dim, lambda: train_network(rows_for(dim)[0], targets, **settings)

    variants = [
        ("5 epochs (general-vgg's)", fitted()),
        ("3 epochs", fitted(epochs=3)),
        ("2 epochs", fitted(epochs=2)),
        ("input dropout 0.2", fitted(dropout=0.2)),
        ("loss in RGB", fitted(rgb=True)),
        ("images weighted 1/(energy + 0.004)", fitted(c=0.004)),
        ("images weighted 1/(energy + 0.002)", fitted(c=0.002)),
        ("images weighted 1/(energy + 0.01)", fitted(c=0.01)),
        ("images weighted 1/(energy + 0.004), input dropout 0.2", fitted(c=0.004, dropout=0.2)),
        ("images weighted 1/(energy + 0.01), input dropout 0.2", fitted(c=0.01, dropout=0.2)),
        ("images weighted 1/(energy + 0.002), input dropout 0.2", fitted(c=0.002, dropout=0.2)),
        # more of VGG16 and a wider network, which overfit without dropout (general_vgg_capacity)
        ("input dropout 0.4", fitted(dropout=0.4)),
        ("input dropout 0.4, 512 units", fitted(dropout=0.4, hidden=512)),
        ("input dropout 0.4, PCA 256, 512 units", fitted(256, dropout=0.4, hidden=512)),
        ("images weighted 1/(energy + 0.004), input dropout 0.4", fitted(c=0.004, dropout=0.4)),
        ("images weighted 1/(energy + 0.004), input dropout 0.2, 512 units", fitted(c=0.004, dropout=0.2, hidden=512)),
        ("images weighted 1/(energy + 0.004), input dropout 0.4, 512 units", fitted(c=0.004, dropout=0.4, hidden=512)),
        ("images weighted 1/(energy + 0.004), input dropout 0.4, PCA 256, 512 units",
         fitted(256, c=0.004, dropout=0.4, hidden=512)),
        ("images weighted 1/(energy + 0.004), input dropout 0.4, 10 epochs", fitted(c=0.004, dropout=0.4, epochs=10)),
    ]
    if chosen:
        variants = [v for v in variants if v[0] in chosen]
    rows, networks = [], {}
    for name, (dim, fit) in variants:
        start = time.perf_counter()
        network = fit()
        log(f"  {name}: {time.perf_counter() - start:.0f} s")
        rows.append(imagenet_row(ho, name, network.predict(rows_for(dim)[1]), log))
        networks[name] = (network, parts[dim])
    return rows, networks


def main(argv=None):
    return held_out_study(__doc__, argv, lambda p: p.add_argument(
        "--variants", nargs="+", help="run only these variants (their names as printed)"),
        lambda args, ho, deep, dims, log, result: study(ho, deep, dims, log, args.variants))


if __name__ == "__main__":
    sys.exit(main())
