"""Whether a bin network's distributions, pooled over each region before the annealed mean
commits to a colour, move the PSNR / colourfulness frontier that one temperature slides
along, on held-out images of the test's kind (``general_deep_layers.py``'s split; no test list
is read).

    python benchmarks/general_vgg_pooled.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 [--whole-sources caltech101] -o OUT.json

The colorizer reads each grid point's distribution at T (the annealed mean) and only then
smooths the chroma with the domain transform. At a low T each point commits to its own
likeliest colour; where neighbours of one region toss a coin between two modes (a shirt red
here, blue there) the smoothing averages the committed colours into a dull mixture, and the
region's PSNR pays for both. Pooling the distributions first, with the same edge-aware filter
guided by the gray image, lets a region commit once, to the mode its points agree on most.

At T 1 the annealed mean is linear in the probabilities, so pooling them is the colorizer's
own smoothing moved earlier; below T 1 the order matters. Two poolings: the probabilities'
(arithmetic: the region's mixture) and their logarithms' (geometric: the normalized geometric
mean, which keeps what the neighbours agree on). Each reading is followed by the colorizer's
refinement, as in the other rows. ``--image-weight`` weights the images in the network's loss
as ``general_vgg_bins.py`` does.

Held out, geometric pooling moved the frontier by +0.02 to +0.15 dB; on the general test it
did not (README, "Pooling the distribution over regions"). The network is ``general_vgg_bins.py``'s (seed 0; its pixel rows repeat that
script's); every reading of a photo reads the one distribution computed on it, and "no
pooling" is the colorizer's own reading (the annealed mean at each grid point).
"""

import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_adaptive import annealed
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_study

#: (pooling, sigma_s in working-image pixels, temperature); "none" is the colorizer's reading.
READINGS = (
    ("none", 0.0, 1.0), ("none", 0.0, 0.6), ("none", 0.0, 0.38), ("none", 0.0, 0.2),
    ("arithmetic", 10.0, 0.38), ("arithmetic", 10.0, 0.2), ("arithmetic", 10.0, 0.1),
    ("geometric", 10.0, 1.0), ("geometric", 10.0, 0.6), ("geometric", 10.0, 0.38), ("geometric", 10.0, 0.2),
    ("geometric", 10.0, 0.1),
    ("geometric", 30.0, 1.0), ("geometric", 30.0, 0.6), ("geometric", 30.0, 0.38), ("geometric", 30.0, 0.2),
    ("geometric", 30.0, 0.1),
)
#: The release's domain-transform edge weight (``DT_PARAMS``'s sigma_r), guide Y/255.
SIGMA_R = 0.4


class DistributionCache:
    """Each network's distribution on one photo's grid, computed once for all the readings
    of it (``whole_images`` runs each reading on the same working image in turn)."""

    def __init__(self, networks):
        self.networks, self.key, self.value = list(networks), None, None

    def on(self, work, probs, stride, context, deep):
        from deepcolor.pipeline.distribution import chroma_distribution

        if self.key is not work:
            self.key = work
            self.value = [chroma_distribution(n, work, probs, stride, context, deep) for n in self.networks]
        return self.value


def pooled_chroma(dist, work, pooling, sigma_s, temperature):
    """U, V on ``dist``'s grid (gh, gw, 2): its distributions pooled over regions of the
    working image ``work`` (``pooling`` none / arithmetic / geometric, spatial sigma
    ``sigma_s`` in working pixels), then read by the annealed mean at ``temperature``."""
    from deepcolor.core.recursive_filter import recursive_filter

    p = dist.probabilities.astype(np.float32)
    gh, gw, k = p.shape
    guide = work[::dist.stride, ::dist.stride].astype(np.float32) / 255.0
    sigma = sigma_s / dist.stride  # the grid's pixels are stride working pixels apart
    if pooling == "none":
        pooled = p
    elif pooling == "arithmetic":
        pooled = np.maximum(recursive_filter(guide, p, sigma, SIGMA_R, iterations=3, repeats=1), 0.0)
    else:
        logs = recursive_filter(guide, np.log(np.maximum(p, 1e-6)), sigma, SIGMA_R, iterations=3, repeats=1)
        pooled = np.exp(logs - logs.max(axis=-1, keepdims=True))
    pooled = pooled.reshape(-1, k).astype(np.float64)
    pooled /= pooled.sum(axis=1, keepdims=True)
    return annealed(pooled, dist.centres.astype(np.float64), temperature).reshape(gh, gw, 2)


class Pooled:
    """Bin networks read after their distributions are pooled over regions, each network
    on its own and the colours averaged, as ``--ensemble`` averages them (``chroma_on``,
    asked by ``whole_images`` for the chroma on the working image)."""

    def __init__(self, cache, pooling, sigma_s, temperature):
        self.cache, self.pooling = cache, pooling
        self.sigma_s, self.temperature = float(sigma_s), float(temperature)
        self.input_dim = cache.networks[0].input_dim

    def chroma_on(self, work, probs, stride, context, deep):
        from deepcolor.pipeline.prediction import upsample_grid

        dists = self.cache.on(work, probs, stride, context, deep)
        uv = np.mean([pooled_chroma(d, work, self.pooling, self.sigma_s, self.temperature) for d in dists], axis=0)
        return upsample_grid(uv.astype(np.float32), work.shape, dists[0].stride)


def parse_readings(text):
    """``pooling:sigma_s:T,...`` -> tuple of (pooling, sigma_s, T)."""
    out = []
    for item in text.split(","):
        pooling, sigma_s, t = item.split(":")
        if pooling not in ("none", "arithmetic", "geometric"):
            raise SystemExit(f"--readings: unknown pooling {pooling!r} (none, arithmetic, geometric)")
        out.append((pooling, float(sigma_s), float(t)))
    return tuple(out)


def study(ho, deep, dims, log, readings=READINGS, offset=0.0):
    rows, networks = bins_study(ho, deep, dims, 32, offset, log)
    network, part = networks[next(n for n in networks if n.startswith("32 bins") and n.endswith("T 1.0"))]
    cache = DistributionCache([network])
    how = f", images weighted 1/(energy + {offset:g})" if offset else ""
    readers = {}  # every whole-image reading from the one distribution per photo and network
    for pooling, sigma_s, t in readings:
        kind = "no pooling" if pooling == "none" else f"{pooling} pooling sigma_s {sigma_s:g}"
        readers[f"32 bins{how}, {kind}, then annealed mean T {t:g}"] = (Pooled(cache, pooling, sigma_s, t), part)
    return rows, readers


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        readings = parse_readings(args.readings) if args.readings else READINGS
        result.update(bins=32, readings=[list(r) for r in readings], sigma_r=SIGMA_R,
                      image_weight=args.image_weight)
        return study(ho, deep, dims, log, readings, args.image_weight)

    def options(p):
        p.add_argument("--readings", metavar="POOLING:SIGMA_S:T,...",
                       help="the readings to score (default: READINGS); pooling none, arithmetic or geometric")
        p.add_argument("--image-weight", type=float, default=0.0,
                       help="> 0: each image weighted by 1 / (its chroma energy + this) in the loss")

    return held_out_study(__doc__, argv, options, run)


if __name__ == "__main__":
    sys.exit(main())
