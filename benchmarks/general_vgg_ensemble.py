"""Whether averaging networks trained alike from different seeds, or more epochs, helps
``general-vgg``'s kind of model on held-out images of the test's kind
(``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_ensemble.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_ensemble.json

Every network reads the model's features and relu4_3 + relu5_3 through a PCA to 128 dims
(``general-vgg``'s input), three hidden layers of D/2 units, on the same rows as
``general_vgg_capacity.py`` (``--deep-file`` is shared with it). Variants: one network
(seed 0), 5 and 10 epochs; the average of ``--seeds`` networks' chroma (seeds 0, 1, ...), 5
and 10 epochs. Each colorizes ``--whole`` held-out Imagenette/Imagewoof photos whole, as
``deepcolor colorize`` does, scored by the benchmark's RGB PSNR over gray.
"""

import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_capacity import held_out_study, imagenet_row, vgg_rows


def study(ho, deep, dims, seeds, log):
    from deepcolor.networks import train_network

    log("fitting the PCA on a tenth of the training pixels")
    part, sub, held = vgg_rows(ho, deep, dims)
    rows, networks = [], {}
    for epochs in (5, 10):
        nets = []
        for seed in range(seeds):
            start = time.perf_counter()
            nets.append(train_network(sub, ho.targets[ho.sub_rows], epochs=epochs, seed=seed, device="cpu"))
            log(f"  {epochs} epochs, seed {seed}: {time.perf_counter() - start:.0f} s")
        for name, chosen in ((f"one network, {epochs} epochs", nets[:1]),
                             (f"{seeds} networks averaged, {epochs} epochs", nets)):
            rows.append(imagenet_row(ho, name, np.mean([n.predict(held) for n in chosen], axis=0), log,
                                     networks=len(chosen), epochs=epochs))
            networks[name] = (chosen[0] if len(chosen) == 1 else chosen, part)  # a list is averaged
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        result["seeds"] = args.seeds
        return study(ho, deep, dims, args.seeds, log)

    return held_out_study(__doc__, argv, lambda p: p.add_argument("--seeds", type=int, default=3,
                                                                 help="networks averaged"), run)


if __name__ == "__main__":
    sys.exit(main())
