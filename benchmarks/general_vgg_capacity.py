"""How much of VGG16 the general model should read, and how wide its network should be,
chosen on held-out images of the test's kind (``general_deep_layers.py``'s split: every 3rd
Imagenette/Imagewoof class, every 10th Caltech-101 class). No test list is read.

    python benchmarks/general_vgg_capacity.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_capacity.json

``general-vgg`` reads relu4_3 + relu5_3 through a PCA to 128 dims into a network of three
hidden layers of D/2 units (D = 270). Every variant here is that network trained on the
same rows (``--train-every``-th training image, 100 pixels each, 5 epochs), changing one or
two things:

* the PCA to 256 dims in place of 128 (the leading 128 axes are the same);
* 512 hidden units per layer in place of D/2;
* both;
* relu3_3 + relu4_3 + relu5_3 (1,280 numbers) through a PCA to 128 (the hypercolumn one
  block lower: finer grid, less semantic).

Each network then colorizes ``--whole`` held-out Imagenette/Imagewoof photos whole, as
``deepcolor colorize`` does, scored by the benchmark's RGB PSNR over gray; the reference
network is also run at every pixel (``--predict-stride 1``) and with the domain transform's
sigma_s doubled and quadrupled (a smoother chroma), the colorizer's settings that the
wider features could move.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_deep_layers import held_out_split, hypercolumns, imagenet_gain, projected, whole_images

LAYERS = (3, 4, 5)  # relu3_3, relu4_3, relu5_3


class VGGColumn:
    """VGG16's relu3_3 + relu4_3 + relu5_3 of a gray image (the ``Trunk`` interface of
    ``general_deep_layers``)."""

    def __init__(self):
        from deepcolor.features.vgg import VGG16, VGG16Trunk, vgg_maps

        net = VGG16Trunk(device="cpu")
        self.name, self.layers, self.top, self.column = "vgg16", LAYERS, "relu5_3", "relu3_3+4_3+5_3"
        self.dims = [VGG16[b - 1][-1] for b in LAYERS]
        self.maps = lambda gray: vgg_maps(gray, net, LAYERS)


def study(ho, deep, dims, epochs, log):
    """Train and score every variant on the held-out pixels; returns the rows and the networks."""
    from deepcolor.features.alexnet import fit_projection
    from deepcolor.networks import train_network

    n_sub = len(ho.sub_rows)
    fit = np.arange(0, n_sub, 10)
    upper = slice(dims[0], deep.shape[1])  # relu4_3 + relu5_3
    log("fitting the PCAs on a tenth of the training pixels")
    upper256 = fit_projection(np.asarray(deep[fit, upper], np.float32), 256)
    upper128 = (upper256[0], upper256[1][:128])  # principal axes are nested
    all128 = fit_projection(np.asarray(deep[fit], np.float32), 128)
    parts = {"relu4_3+5_3 PCA 128": (upper, upper128), "relu4_3+5_3 PCA 256": (upper, upper256),
             "relu3_3+4_3+5_3 PCA 128": (slice(None), all128)}
    variants = [("relu4_3+5_3 PCA 128, D/2 units", "relu4_3+5_3 PCA 128", None),
                ("relu4_3+5_3 PCA 256, D/2 units", "relu4_3+5_3 PCA 256", None),
                ("relu4_3+5_3 PCA 128, 512 units", "relu4_3+5_3 PCA 128", 512),
                ("relu4_3+5_3 PCA 256, 512 units", "relu4_3+5_3 PCA 256", 512),
                ("relu3_3+4_3+5_3 PCA 128, D/2 units", "relu3_3+4_3+5_3 PCA 128", None)]
    cache, rows, networks = {}, [], {}
    for name, key, units in variants:
        if key not in cache:
            cols, projection = parts[key]
            cache[key] = (projected(deep[:n_sub, cols], projection), projected(deep[n_sub:, cols], projection))
        sub = np.concatenate([ho.feats[ho.sub_rows], cache[key][0]], axis=1)
        held = np.concatenate([ho.feats[ho.held_rows], cache[key][1]], axis=1)
        start = time.perf_counter()
        net = train_network(sub, ho.targets[ho.sub_rows], hidden=units, epochs=epochs, seed=0, device="cpu")
        row = ho.score(name, net.predict(held), log)
        row.update(imagenet=imagenet_gain(ho, row), hidden=net.hidden, input_dim=net.input_dim,
                   training_seconds=time.perf_counter() - start, final_training_mse=net.history[-1])
        log(f"    imagenet (held-out Imagenette + Imagewoof classes): {row['imagenet']:+.3f} dB; "
            f"{net.hidden} units, {row['training_seconds']:.0f} s")
        rows.append(row)
        networks[name] = (net, parts[key])
    return rows, networks


def vgg_rows(ho, deep, dims, pca=128, columns=None):
    """``(part, sub, held)``: ``general-vgg``'s VGG16 input, relu4_3 + relu5_3 through a PCA
    to ``pca`` dims fitted on a tenth of the training pixels (``part`` as the networks
    dictionaries of :func:`general_deep_layers.whole_images` take it), appended to the
    model's features of the training rows (``sub``) and of the held-out rows (``held``).
    ``columns`` (an index array of ``deep``'s columns) reads another part of the trunk's
    vectors; default the columns after the first map's (relu4_3 + relu5_3 of :class:`VGGColumn`).
    A list of index arrays puts each part through its own PCA to ``pca``, side by side (one
    block-diagonal projection)."""
    from deepcolor.features.alexnet import fit_projection

    n_sub = len(ho.sub_rows)
    upper = slice(dims[0], deep.shape[1]) if columns is None else columns
    fit = np.arange(0, n_sub, 10)
    if isinstance(upper, list):
        blocks = [fit_projection(np.asarray(deep[fit][:, c], np.float32), pca) for c in upper]
        components = np.zeros((pca * len(blocks), sum(len(c) for c in upper)), np.float32)
        for k, (c, (_, axes)) in enumerate(zip(upper, blocks)):
            start = sum(len(u) for u in upper[:k])
            components[k * pca:(k + 1) * pca, start:start + len(c)] = axes
        upper = np.concatenate(upper)
        part = (upper, (np.concatenate([m for m, _ in blocks]), components))
    else:
        part = (upper, fit_projection(np.asarray(deep[fit][:, upper], np.float32), pca))
    sub = np.concatenate([ho.feats[ho.sub_rows], projected(deep[:n_sub, upper], part[1])], axis=1)
    held = np.concatenate([ho.feats[ho.held_rows], projected(deep[n_sub:, upper], part[1])], axis=1)
    return part, sub, held


def image_weight_rows(ho, offset):
    """Each training row's weight 1 / (its image's chroma energy + ``offset``), the
    per-image PSNR's weighting of ``deepcolor train --image-weight``."""
    energy = (ho.targets.reshape(len(ho.tset), ho.per_image, 2) ** 2).mean(axis=(1, 2))
    return 1 / (energy[ho.image_of(ho.sub_rows)] + offset)


def imagenet_row(ho, name, pred, log, **extra):
    """``ho.score``'s row of the held-out predictions ``pred``, with the mean gain over the
    held-out Imagenette and Imagewoof photos (``imagenet``) and ``extra`` added, and logged."""
    row = ho.score(name, pred, log)
    row.update(imagenet=imagenet_gain(ho, row), **extra)
    log(f"    imagenet (held-out Imagenette + Imagewoof classes): {row['imagenet']:+.3f} dB")
    return row


def held_out_arguments(p):
    """The options of the held-out VGG16 studies (this script and ``general_vgg_ensemble.py``)."""
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True, help="a trained model folder: its images, settings and cached features")
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--imagenet-every", type=int, default=3, help="hold out every n-th Imagenette and Imagewoof class")
    p.add_argument("--every", type=int, default=10, help="hold out every n-th Caltech-101 class")
    p.add_argument("--train-every", type=int, default=4, help="train on every n-th training image only")
    p.add_argument("--deep-file", help="a .npy file keeping VGG16's vectors at the pixels used (float16)")
    p.add_argument("--whole", type=int, default=600, help="colorize this many held-out ImageNet-class photos whole")
    p.add_argument("--whole-sources", default="imagenette,imagewoof", metavar="S1,S2",
                   help="the general sources whose held-out photos --whole colorizes (imagenette, imagewoof, "
                        "caltech101: the held-out classes of each)")
    p.add_argument("--subset", type=int, default=1, help="every n-th training image only (a quick check of the script)")
    p.add_argument("--cache")
    p.add_argument("--jobs", type=int, default=1, help="processes computing the features of images not in the cache")
    p.add_argument("-o", "--output", required=True)


def held_out_vgg(args, log, trunk=None):
    """``(ho, trunk, deep, result)``: the held-out split, VGG16's column (``trunk()`` when
    given), its vectors at the pixels used and the result's header, from
    :func:`held_out_arguments`' options."""
    import torch

    torch.set_num_threads(2)
    settings, tset, ho = held_out_split(args)
    log(f"{len(tset)} images: {len(ho.train)} training, {len(ho.held)} held out")
    trunk = (trunk or VGGColumn)()
    deep, _ = hypercolumns(ho, settings, trunk, args.deep_file, log)
    result = {"model": os.path.abspath(args.model), "imagenet_every": args.imagenet_every, "every": args.every,
              "train_every": args.train_every, "training_images": len(ho.train), "held_out": len(ho.held)}
    return ho, trunk, deep, result


def write_result(path, result, start):
    result["seconds"] = time.perf_counter() - start
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


def held_out_study(doc, argv, add_options, study, ways=None, finish=None, trunk=None):
    """The driver of the held-out VGG16 studies: the options of :func:`held_out_arguments` plus
    ``add_options(parser)``'s, the split and VGG16's vectors, ``study(args, ho, deep, dims,
    log, result) -> (rows, networks)`` (it may add its settings to ``result``), the whole
    images (``ways`` as :func:`general_deep_layers.whole_images`), ``finish(result)`` when
    given, and the result file. ``trunk`` (a callable returning the ``Trunk`` interface of
    ``general_deep_layers``) replaces :class:`VGGColumn`."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    held_out_arguments(p)
    add_options(p)
    args = p.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    start = time.perf_counter()
    ho, trunk, deep, result = held_out_vgg(args, log, trunk)
    result["pixels"], networks = study(args, ho, deep, trunk.dims, log, result)
    if args.whole:
        sources = tuple(f"general/{s.strip()}" for s in args.whole_sources.split(",") if s.strip())
        result["whole_sources"] = list(sources)
        result["whole_images"] = whole_images(ho, trunk, networks, args.whole, log, ways=ways, sources=sources)
    if finish is not None:
        finish(result)
    write_result(args.output, result, start)
    return 0


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        result["epochs"] = args.epochs
        return study(ho, deep, dims, args.epochs, log)

    reference = "relu4_3+5_3 PCA 128, D/2 units"
    ways = {reference: [("every pixel, refine dt", 1, {}),
                        ("refine dt sigma_s 20", 2, {"sigma_s": 20.0}),
                        ("refine dt sigma_s 40", 2, {"sigma_s": 40.0})]}
    return held_out_study(__doc__, argv, lambda p: p.add_argument("--epochs", type=int, default=5), run, ways)


if __name__ == "__main__":
    sys.exit(main())
