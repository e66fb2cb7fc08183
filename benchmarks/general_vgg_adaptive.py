"""Whether choosing the annealed mean's temperature per photo, from the network's own
distribution, moves the PSNR / colourfulness frontier that one temperature for all photos
slides along, on held-out images of the test's kind (``general_deep_layers.py``'s split; no
test list is read).

    python benchmarks/general_vgg_adaptive.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 [--whole-sources caltech101] -o OUT.json

The benchmark averages each photo's PSNR and each photo's colourfulness, so the same colour
costs more on some photos than on others. A bin network's distribution says, for each photo
and each temperature T, what the annealed mean is expected to cost: if the colours were drawn
from the distribution p, a pixel read as x has an expected squared error (in RGB)
``sum_k p_k |c_k - x|^2``, and the photo's expected PSNR loss against T 1 (the distribution's
mean, which minimizes it) is ``10 log10(E[MSE(T)] / E[MSE(1)])``. Its colourfulness at T is
measured on the networks' grid. Each photo is then read at the T of ``TEMPERATURES`` that
maximizes ``colourfulness gained - lambda * expected dB lost``: a large lambda keeps T 1, a
small one goes as low as the list allows, and in between each photo gets colour where it is
expected to be cheap. The rows compare each ``--lambdas`` value with one T for every photo
(``general_vgg_bins.py``'s network, seed 0, whose rows this script repeats).

``general_vgg_gain.py`` found that a gain on the T 1 colours costs more PSNR than annealing for
the same colour, so the distribution is not calibrated as a whole; this asks whether it ranks
the photos.
"""

import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from general_vgg_bins import study as bins_study
from general_vgg_capacity import held_out_study

TEMPERATURES = (1.0, 0.8, 0.6, 0.5, 0.38, 0.3, 0.2)
LAMBDAS = (1.0, 2.0, 4.0, 8.0)


def annealed(p, centres, temperature):
    """The annealed means of the distributions ``p`` (n, K) over ``centres`` (K, 2) at T."""
    logits = np.log(np.maximum(p, 1e-30)) / temperature
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (w / w.sum(axis=1, keepdims=True)) @ centres


def expected_rgb_error(p, centres, x):
    """The mean over pixels of the expected squared RGB error (0..255 scale, summed over
    the channels) of reading ``x`` (n, 2) where the colours follow ``p`` (n, K)."""
    from deepcolor.core.color import CHROMA_SCALE, YUV_TO_RGB

    a = YUV_TO_RGB[:, 1:] * CHROMA_SCALE  # RGB per unit of U/255, V/255
    q = a.T @ a  # the quadratic form of a chroma error in RGB
    d = centres[None, :, :] - x[:, None, :]  # (n, K, 2)
    return float(np.mean(np.sum(p * np.einsum("nki,ij,nkj->nk", d, q, d), axis=1)))


def choose_temperature(p, centres, gray_grid, weight, temperatures=TEMPERATURES):
    """The T of ``temperatures`` maximizing colourfulness gained - ``weight`` * expected dB
    lost against T 1, for one photo's distributions ``p`` (n, K) on its grid (``gray_grid``:
    the gray photo at the grid points, (gh, gw) uint8)."""
    from deepcolor.core.color import combine
    from deepcolor.core.metrics import colorfulness

    best, best_score, base = None, -np.inf, None
    for t in temperatures:
        x = annealed(p, centres, t)
        error = max(expected_rgb_error(p, centres, x), 1e-12)
        colour = colorfulness(combine(gray_grid, x.reshape(gray_grid.shape + (2,)).astype(np.float32)))
        if base is None:
            base = (error, colour)
        score = (colour - base[1]) - weight * 10 * np.log10(error / base[0])
        if score > best_score:
            best, best_score = t, score
    return best


class PerPhotoTemperature:
    """A bin network read, on each photo, at the temperature :func:`choose_temperature`
    picks from its distribution on the photo (``for_work``, asked by ``whole_images``)."""

    def __init__(self, network, weight):
        self.network, self.weight = network, float(weight)
        self.input_dim = network.input_dim
        self.chosen = []

    def for_work(self, work, probs, stride, context, deep):
        from deepcolor.pipeline.distribution import chroma_distribution

        dist = chroma_distribution(self.network, work, probs, stride, context, deep)
        gh, gw, k = dist.probabilities.shape
        p = dist.probabilities.reshape(-1, k).astype(np.float64)
        t = choose_temperature(p, dist.centres.astype(np.float64), work[::stride, ::stride], self.weight)
        self.chosen.append(t)
        return self.network.at_temperature(t)


def study(ho, deep, dims, weights, log):
    rows, networks = bins_study(ho, deep, dims, 32, 0.0, log)
    networks = {name: net for name, net in networks.items() if not name.startswith("regression")}
    network, part = networks["32 bins, annealed mean T 1.0"]
    for w in weights:
        networks[f"32 bins, T per photo (of {', '.join(f'{t:g}' for t in TEMPERATURES)}), lambda {w:g}"] = (
            PerPhotoTemperature(network, w), part)
    return rows, networks


def main(argv=None):
    def run(args, ho, deep, dims, log, result):
        weights = tuple(float(w) for w in args.lambdas.split(","))
        result.update(bins=32, lambdas=list(weights), temperatures=list(TEMPERATURES))
        rows, networks = study(ho, deep, dims, weights, log)
        run.networks = networks
        return rows, networks

    def options(p):
        p.add_argument("--lambdas", default=",".join(f"{w:g}" for w in LAMBDAS), metavar="L1,L2",
                       help="points of colourfulness one expected dB is worth, when choosing each photo's T")

    def chosen(result):
        for name, (net, _) in run.networks.items():
            if isinstance(net, PerPhotoTemperature):
                values, counts = np.unique(net.chosen, return_counts=True)
                result.setdefault("chosen_temperatures", {})[name] = {f"{v:g}": int(c) for v, c in zip(values, counts)}
                print(f"{name}: photos per T " + ", ".join(f"{v:g}: {c}" for v, c in zip(values, counts)), flush=True)

    return held_out_study(__doc__, argv, options, run, finish=chosen)


if __name__ == "__main__":
    sys.exit(main())
