"""Memory of training's PCA step (``--alexnet K``): peak resident memory above its input.

Usage::

    python benchmarks/bench_projection_memory.py [--net vgg16+inception] [--layers 4,5,6,7]
                                                 [--rows 131072] [--dims 256]

Training fits the PCA of the deep vectors of up to 2,000 images x 250 samples
(:func:`deepcolor.pipeline.training._alexnet_projection`), held as one float16 array: 3.9 GB
for VGG16 + Inception (3840 numbers). What the fit needs on top of that array decides
whether the step stays under the issue's 8 GB. This builds ``--rows`` random float16 vectors
in a fresh process, fits :func:`deepcolor.features.deep.fit_net_projection` on them and
prints the process's peak RSS before and after the fit, the input's size and the fit's
excess over the input (the reference measured in the same run). The excess does not grow
with ``--rows`` past one block of the covariance (65,536 rows), so a small run gives the
full-size figure: the union's step peaks near its base + 3.9 GB + this excess.
"""

import argparse
import resource

import numpy as np


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="vgg16+inception")
    ap.add_argument("--layers", default="4,5,6,7")
    ap.add_argument("--rows", type=int, default=131072)
    ap.add_argument("--dims", type=int, default=256)
    args = ap.parse_args(argv)

    from deepcolor.features.deep import fit_net_projection, net_dims, net_layers

    layers = net_layers(args.net, args.layers)
    width = net_dims(args.net, layers)
    vectors = np.empty((args.rows, width), np.float16)
    rng = np.random.default_rng(0)
    for start in range(0, args.rows, 8192):  # filled a slice at a time: no float64 copy of the whole
        part = vectors[start:start + 8192]
        part[:] = rng.standard_normal(part.shape, dtype=np.float32)
    before = _peak_mb()
    fit_net_projection(args.net, layers, vectors, args.dims)
    after = _peak_mb()
    print(f"{args.net} layers {args.layers}: {args.rows} x {width} float16 input, {vectors.nbytes / 2**20:.0f} MB")
    print(f"peak RSS before the fit {before:.0f} MB, after {after:.0f} MB: the fit's excess over the input "
          f"{after - before:.0f} MB ({(after - before) / (vectors.nbytes / 2**20):.2f} x the input)")


if __name__ == "__main__":
    main()
