"""Whether predicting a distribution of colours per pixel, read back by an annealed mean,
gives ``general-vgg``'s kind of model the general target's colour at its PSNR, on held-out
images of the test's kind (``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_bins.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_bins.json

A network fitted to the squared error predicts the mean chroma of what it cannot tell
apart, which is dull wherever the colour is uncertain (``general_vgg_data.py``: colour does
not grow with the data). Later colorization papers (Zhang, Isola and Efros 2016; Larsson,
Maire and Shakhnarovich 2016) predict instead a distribution over chroma bins and read it
back with an "annealed mean": the bins' chroma weighted by the probabilities raised to 1/T
and renormalized (T = 1: the mean; T -> 0: the most likely bin; Zhang et al. use 0.38).

Here the same inputs and hidden layers as ``general-vgg``'s network (relu4_3 + relu5_3 through
the PCA to 128, three hidden layers of D/2 units, input dropout 0.4, 5 epochs) end in a
softmax over ``--bins`` chroma bins (k-means centres of the training pixels' U, V), fitted by
cross-entropy, and are read back at several temperatures. The regression network with the
same dropout is the reference. The bin network is the package's (``deepcolor train --bins``,
:mod:`deepcolor.networks.bins`); runs 1 to 5 in ``results/`` used this script's own copy of
it, before it moved into the package (the same k-means, initialisation, minibatch order and
learning-rate schedule).

With ``--seeds N`` the bin network is also trained from N seeds, and the N networks are read
two ways at T 1, 0.6 and 0.38: their annealed means averaged (what ``deepcolor train
--ensemble N --bins K`` colorizes with), and their distributions averaged, then annealed
once (:class:`Mixture`).
"""

import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_capacity import held_out_study, image_weight_rows, imagenet_row, vgg_rows

TEMPERATURES = (1.0, 0.6, 0.38, 0.2)


class Mixture:
    """Bin networks read as one distribution: their probabilities averaged (their bins side
    by side, as the web app's palette reads them), then one annealed mean at ``temperature``.
    Where :class:`deepcolor.networks.NetworkBlend` averages the networks' annealed means, a
    colour that every network finds likely keeps its weight here instead of being averaged
    toward the others' choices. At T 1 both are the mean."""

    def __init__(self, networks, temperature):
        self.networks, self.temperature = networks, temperature
        self.input_dim = networks[0].input_dim
        self.centres = np.concatenate([n.centres for n in networks])

    def predict(self, feats):
        import torch

        from deepcolor.networks.bins import annealed_mean

        p = np.concatenate([n.distribution(feats) for n in self.networks], axis=1)
        # the annealed mean of the averaged distribution: its log-probabilities as the logits
        logits = torch.log(torch.from_numpy(p).clamp_min(1e-30))
        return annealed_mean(logits, torch.from_numpy(self.centres), self.temperature).numpy()


def study(ho, deep, dims, bins, offset, log, seeds=1, columns=None, label=""):
    """The regression and the bin network on ``general-vgg``'s inputs (``columns`` of ``deep``
    in place of relu4_3 + relu5_3 when given, ``label`` then naming them in the rows)."""
    from deepcolor.networks import train_network

    log("fitting the PCA on a tenth of the training pixels")
    part, sub, held = vgg_rows(ho, deep, dims, columns=columns)
    targets = ho.targets[ho.sub_rows]
    weights, how = None, ""
    if offset:  # each image weighted by 1 / (its chroma energy + offset), as --image-weight
        weights, how = image_weight_rows(ho, offset), f", images weighted 1/(energy + {offset})"
    start = time.perf_counter()
    regression = train_network(sub, targets, epochs=5, seed=0, device="cpu", dropout=0.4, sample_weight=weights)
    log(f"  regression, input dropout 0.4{how}: {time.perf_counter() - start:.0f} s")
    start = time.perf_counter()
    classifier = train_network(sub, targets, epochs=5, seed=0, device="cpu", dropout=0.4, sample_weight=weights,
                               bins=bins, temperature=1.0)
    log(f"  {bins} bins, input dropout 0.4{how}: {time.perf_counter() - start:.0f} s")
    candidates = [(f"regression (squared error), input dropout 0.4{how}", regression)]
    candidates += [(f"{bins} bins{how}, annealed mean T {t}", classifier.at_temperature(t)) for t in TEMPERATURES]
    if seeds > 1:  # the same network from other seeds, read two ways
        members = [classifier]
        for seed in range(1, seeds):
            start = time.perf_counter()
            members.append(train_network(sub, targets, epochs=5, seed=seed, device="cpu", dropout=0.4,
                                         sample_weight=weights, bins=bins, temperature=1.0))
            log(f"  {bins} bins{how}, seed {seed}: {time.perf_counter() - start:.0f} s")
        candidates = [(name, n) for name, n in candidates if "T 0.2" not in name]
        for t in TEMPERATURES[:3]:
            candidates.append((f"{seeds} seeds' annealed means averaged{how}, T {t}",
                               [m.at_temperature(t) for m in members]))
            if t != 1.0:  # at T 1 the mixture's mean is the average of the means
                candidates.append((f"{seeds} seeds' distributions averaged, then annealed{how}, T {t}",
                                   Mixture(members, t)))
    rows, networks = [], {}
    for name, network in ((label + name, network) for name, network in candidates):
        chroma = (np.mean([n.predict(held) for n in network], axis=0) if isinstance(network, list)
                  else network.predict(held))
        rows.append(imagenet_row(ho, name, chroma, log))
        networks[name] = (network, part)  # a list is averaged
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        result.update(bins=args.bins, image_weight=args.image_weight, seeds=args.seeds)
        return study(ho, deep, dims, args.bins, args.image_weight, log, args.seeds)

    def options(p):
        p.add_argument("--bins", type=int, default=32, help="chroma bins (k-means of the training pixels' U, V)")
        p.add_argument("--image-weight", type=float, default=0.0,
                       help="> 0: each image weighted by 1 / (its chroma energy + this), in both losses")
        p.add_argument("--seeds", type=int, default=1,
                       help="> 1: also train the bin network from this many seeds and read them two ways: "
                            "annealed means averaged (deepcolor's --ensemble), and distributions averaged, then "
                            "annealed, at T 1, 0.6, 0.38")

    return held_out_study(__doc__, argv, options, run)


if __name__ == "__main__":
    sys.exit(main())
