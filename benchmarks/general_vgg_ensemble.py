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

import argparse
import json
import os
import sys
import time

import numpy as np

import _common  # (also sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_deep_layers import hypercolumns, imagenet_gain, imagenet_split, projected, whole_images
from general_limits import HeldOut
from general_vgg_capacity import VGGColumn


def study(ho, deep, dims, seeds, log):
    from deepcolor.features.alexnet import fit_projection
    from deepcolor.networks import train_network

    n_sub = len(ho.sub_rows)
    upper = slice(dims[0], deep.shape[1])  # relu4_3 + relu5_3
    log("fitting the PCA on a tenth of the training pixels")
    part = (upper, fit_projection(np.asarray(deep[np.arange(0, n_sub, 10), upper], np.float32), 128))
    sub = np.concatenate([ho.feats[ho.sub_rows], projected(deep[:n_sub, upper], part[1])], axis=1)
    held = np.concatenate([ho.feats[ho.held_rows], projected(deep[n_sub:, upper], part[1])], axis=1)
    rows, networks = [], {}
    for epochs in (5, 10):
        nets = []
        for seed in range(seeds):
            start = time.perf_counter()
            nets.append(train_network(sub, ho.targets[ho.sub_rows], epochs=epochs, seed=seed, device="cpu"))
            log(f"  {epochs} epochs, seed {seed}: {time.perf_counter() - start:.0f} s")
        for name, chosen in ((f"one network, {epochs} epochs", nets[:1]),
                             (f"{seeds} networks averaged, {epochs} epochs", nets)):
            row = ho.score(name, np.mean([n.predict(held) for n in chosen], axis=0), log)
            row.update(imagenet=imagenet_gain(ho, row), networks=len(chosen), epochs=epochs)
            log(f"    imagenet (held-out Imagenette + Imagewoof classes): {row['imagenet']:+.3f} dB")
            rows.append(row)
            networks[name] = (chosen[0] if len(chosen) == 1 else chosen, part)  # a list is averaged
    return rows, networks


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True, help="a trained model folder: its images, settings and cached features")
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--imagenet-every", type=int, default=3)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--train-every", type=int, default=4)
    p.add_argument("--seeds", type=int, default=3, help="networks averaged")
    p.add_argument("--deep-file", help="a .npy file keeping VGG16's vectors at the pixels used (float16)")
    p.add_argument("--whole", type=int, default=600)
    p.add_argument("--cache")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    import torch

    torch.set_num_threads(2)
    start = time.perf_counter()
    settings, tset = _common.model_training_set(args.data, args.model, None, args.dataset, args.cache)
    train, held = imagenet_split(tset.names, args.imagenet_every, args.every)
    ho = HeldOut(tset, settings, args.every, split=(train[::args.train_every], held))
    log(f"{len(tset)} images: {len(ho.train)} training, {len(ho.held)} held out")
    trunk = VGGColumn()
    deep, _ = hypercolumns(ho, settings, trunk, args.deep_file, log)
    result = {"model": os.path.abspath(args.model), "train_every": args.train_every, "seeds": args.seeds,
              "training_images": len(ho.train), "held_out": len(ho.held)}
    result["pixels"], networks = study(ho, deep, trunk.dims, args.seeds, log)
    if args.whole:
        result["whole_images"] = whole_images(ho, trunk, networks, args.whole, log)
    result["seconds"] = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
