"""Whether scaling a network's chroma buys colour for less PSNR than annealing its bins, on
held-out images of the test's kind (``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_gain.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 [--whole-sources caltech101] [--image-weight 0.004] -o OUT.json

Every point measured on the general test so far lies on one PSNR / colourfulness frontier:
the annealed mean's temperature (``general_vgg_bins.py``) slides along it, and so do the
per-image weighting and seeds. This asks whether another way of adding colour lies above it.

Why a gain might: if a network's distribution were calibrated, a pixel's expected squared
error at an output ``x`` is its variance plus ``|x - m|^2``, ``m`` its mean (the T 1 read-out).
Whatever the read-out, the PSNR it costs grows with its squared distance from ``m``, and the
colour it adds grows with how far it moves the pixels' chroma apart. For a given total
squared move, a move along each pixel's own chroma (a gain around gray) spreads the colours
the most; annealing moves each pixel toward its likeliest bin, which may lie anywhere. So
here the T 1 mean of the bin network, and the regression's output, are scaled by
``--gains`` (U, V times g, around gray) and compared with the annealed means at T 0.6 and
0.38 on whole held-out photos (the colorizer's stride, the domain transform, RGB PSNR over
gray and colourfulness), with the same networks as ``general_vgg_bins.py``'s (seed 0).
"""

import sys

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_study

GAINS = (1.2, 1.4, 1.6)


class Gain:
    """A network whose U, V are multiplied by ``gain`` (around gray, U = V = 0)."""

    def __init__(self, network, gain):
        self.network, self.gain = network, float(gain)
        self.input_dim = network.input_dim

    def predict(self, feats):
        return self.gain * self.network.predict(feats)


def study(ho, deep, dims, offset, gains, log):
    rows, networks = bins_study(ho, deep, dims, 32, offset, log)
    networks = {name: net for name, net in networks.items() if not name.endswith("T 0.2")}
    for name in [n for n in networks if n.startswith("regression") or n.endswith("T 1.0")]:
        network, part = networks[name]
        for g in gains:
            networks[f"{name}, chroma x {g:g}"] = (Gain(network, g), part)
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        gains = tuple(float(g) for g in args.gains.split(","))
        result.update(bins=32, image_weight=args.image_weight, gains=list(gains))
        return study(ho, deep, dims, args.image_weight, gains, log)

    def options(p):
        p.add_argument("--image-weight", type=float, default=0.0,
                       help="> 0: each image weighted by 1 / (its chroma energy + this), in both losses")
        p.add_argument("--gains", default=",".join(f"{g:g}" for g in GAINS), metavar="G1,G2",
                       help="the chroma gains applied to the regression's and the bins' T 1 output")

    return held_out_study(__doc__, argv, options, run)


if __name__ == "__main__":
    sys.exit(main())
