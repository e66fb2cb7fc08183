"""Whether class rebalancing (Zhang, Isola and Efros, "Colorful Image Colorization", ECCV
2016, Sec. 2.2) gives the bin network colour at a better PSNR than a lower temperature does,
on held-out images of the test's kind (``general_deep_layers.py``'s split; no test list is
read).

    python benchmarks/general_vgg_rebalance.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 [--whole-sources caltech101] -o OUT.json

Most training pixels are nearly gray, so a network fitted by plain cross-entropy puts its
probability on the gray bins and its annealed mean stays dull; a lower temperature then
commits to the likeliest colourful bin, often the wrong one. Zhang et al. weight each
pixel's loss by its bin's rarity instead: ``w_q`` proportional to
``((1 - lambda) p_q + lambda / Q)^-1`` (``p_q``: the bin's share of the training pixels;
lambda 0.5; normalized so that the expected weight is 1). The network then learns how likely
the colourful bins are relative to how often they occur, so the same temperature reads more
colour. The rows compare it with ``general_vgg_bins.py``'s network (seed 0, the same inputs,
bins and fitting) at the same temperatures.
"""

import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_bins import TEMPERATURES
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_study, imagenet_row, vgg_rows

LAMBDAS = (0.5,)


def rebalancing_weights(targets, centres, mix):
    """Zhang et al.'s weight of each target (n, 2): ``((1 - mix) p_q + mix / Q)^-1`` of its
    nearest bin q, with ``p_q`` the bins' shares of the targets, normalized to mean 1."""
    import torch

    from deepcolor.networks.bins import nearest_bins

    nearest = nearest_bins(torch.from_numpy(targets), torch.from_numpy(centres)).numpy()
    share = np.bincount(nearest, minlength=len(centres)) / len(targets)
    w = 1.0 / ((1 - mix) * share + mix / len(centres))
    weights = w[nearest]
    return weights / weights.mean()


def study(ho, deep, dims, log, mixes=LAMBDAS):
    from deepcolor.networks import train_network
    from deepcolor.networks.bins import chroma_bins

    rows, networks = bins_study(ho, deep, dims, 32, 0.0, log)
    networks = {name: net for name, net in networks.items() if not name.startswith("regression")}
    part, sub, held = vgg_rows(ho, deep, dims)
    targets = ho.targets[ho.sub_rows]
    centres = chroma_bins(targets, 32, 0)  # the bins train_network(seed=0) fits
    for mix in mixes:
        weights = rebalancing_weights(np.asarray(targets, np.float32), centres, mix)
        log(f"  rebalanced, lambda {mix:g}: weights {weights.min():.2f} to {weights.max():.2f}")
        net = train_network(sub, targets, epochs=5, seed=0, device="cpu", dropout=0.4, sample_weight=weights,
                            bins=32, temperature=1.0)
        for t in TEMPERATURES:
            name = f"32 bins, rebalanced (lambda {mix:g}), annealed mean T {t}"
            reading = net.at_temperature(t)
            rows.append(imagenet_row(ho, name, reading.predict(held), log))
            networks[name] = (reading, part)
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        mixes = tuple(float(m) for m in args.lambdas.split(","))
        result.update(bins=32, lambdas=list(mixes))
        return study(ho, deep, dims, log, mixes)

    def options(p):
        p.add_argument("--lambdas", default=",".join(f"{m:g}" for m in LAMBDAS), metavar="L1,L2",
                       help="the rebalancing's mix of the bins' shares with uniform (Zhang et al.: 0.5)")

    return held_out_study(__doc__, argv, options, run)


if __name__ == "__main__":
    sys.exit(main())
