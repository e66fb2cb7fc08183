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
"""

import sys
import time

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_capacity import held_out_study, image_weight_rows, imagenet_row, vgg_rows

TEMPERATURES = (1.0, 0.6, 0.38, 0.2)


def study(ho, deep, dims, bins, offset, log):
    from deepcolor.networks import train_network

    log("fitting the PCA on a tenth of the training pixels")
    part, sub, held = vgg_rows(ho, deep, dims)
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
    rows, networks = [], {}
    for name, network in candidates:
        rows.append(imagenet_row(ho, name, network.predict(held), log))
        networks[name] = (network, part)
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        result.update(bins=args.bins, image_weight=args.image_weight)
        return study(ho, deep, dims, args.bins, args.image_weight, log)

    def options(p):
        p.add_argument("--bins", type=int, default=32, help="chroma bins (k-means of the training pixels' U, V)")
        p.add_argument("--image-weight", type=float, default=0.0,
                       help="> 0: each image weighted by 1 / (its chroma energy + this), in both losses")

    return held_out_study(__doc__, argv, options, run)


if __name__ == "__main__":
    sys.exit(main())
