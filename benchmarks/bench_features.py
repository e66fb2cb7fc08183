"""Feature extraction: gist time, per-pixel feature time, peak memory on a large image.

Usage::

    python benchmarks/bench_features.py [--repeats 11] [--large 4000 3000] [--n-semantic 33]
                                        [--skip-large] [--deep-nets]

Prints

* a load calibration (``np.exp`` on 1M doubles; ~1.5 ms on an idle core of the dev box)
  since the machine is shared;
* ``gist``: median / min wall ms (and median CPU ms, all threads) of :func:`deepcolor.features.gist`
  on a 256 x 256 image (the LMgist working size, no resize) and on a 480 x 640 image
  (resize + crop included);
* ``pixel_features`` / ``features_at``: median ms on 256 x 256 and 1024 x 1024;
* peak memory on a ``--large`` image (W x H, default 4000 x 3000 as W x H, i.e. 3000
  rows of 4000 pixels), measured with :mod:`tracemalloc` (numpy and OpenCV arrays are
  traced) and the process's max RSS:

  - ``pixel_features(gray)`` (81 dims): peak traced memory minus the output array;
  - ``iter_feature_bands(gray, semantic)`` with an N-class float32 map (114 dims for
    N = 33), consuming the bands: peak traced memory (the semantic input, allocated
    before, is not counted).

With ``--deep-nets`` only: each ``--deep-net``'s vectors at 250 samples of a 224 x 298 image
(the general set's photos have a short side of at most 224), as training computes them:
median seconds, and the ratio to AlexNet's conv5 measured in the same run. Networks that
are not installed are named and left out.
"""

import argparse
import resource
import time
import tracemalloc

from _common import print_calibration, smooth_noise, start_threads


def _med(fn, repeats, cpu=False):
    ts, cs = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    ts.sort()
    cs.sort()
    if cpu:
        return ts[len(ts) // 2] * 1e3, ts[0] * 1e3, cs[len(cs) // 2] * 1e3
    return ts[len(ts) // 2] * 1e3, ts[0] * 1e3


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--large", type=int, nargs=2, default=[4000, 3000], metavar=("W", "H"))
    ap.add_argument("--n-semantic", type=int, default=33)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--deep-nets", action="store_true", help="time the deep networks only")
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats must be >= 5")

    import numpy as np

    from deepcolor import features
    start_threads(args.threads)
    print_calibration()
    rng = np.random.default_rng(0)

    def image(h, w):
        return smooth_noise(rng, h, w, 1.5)

    if args.deep_nets:
        return _deep_nets(image(224, 298), rng, args.repeats)

    # ---- gist
    for h, w in ((256, 256), (480, 640)):
        img = image(h, w)
        features.gist(img)  # filter bank cache + warm-up
        med, mn, cpu = _med(lambda: features.gist(img), args.repeats, cpu=True)
        print(f"gist {h}x{w}: median {med:.1f} ms, min {mn:.1f} ms, median CPU time {cpu:.1f} ms ({args.repeats} runs)")

    # ---- per-pixel features
    for n in (256, 1024):
        img = image(n, n)
        features.pixel_features(img[:64, :64])  # JIT warm-up
        med, mn = _med(lambda: features.pixel_features(img), max(5, args.repeats // 2))
        print(f"pixel_features {n}x{n} (81 dims): median {med:.1f} ms, min {mn:.1f} ms")
        rows = rng.integers(0, n, 10000)
        cols = rng.integers(0, n, 10000)
        features.features_at(img, rows[:10], cols[:10])
        med, mn = _med(lambda: features.features_at(img, rows, cols), max(5, args.repeats // 2))
        print(f"features_at {n}x{n}, 10000 samples: median {med:.1f} ms, min {mn:.1f} ms")

    if args.skip_large:
        return
    W, H = args.large
    gray = image(H, W)
    print(f"large image: {H} rows x {W} cols ({H * W / 1e6:.1f} Mpx); max RSS so far {_maxrss_mb():.0f} MB")

    # (a) the full 81-dim array
    tracemalloc.start()
    t0 = time.perf_counter()
    out = features.pixel_features(gray)
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out_mb = out.nbytes / 2**20
    print(
        f"pixel_features {H}x{W}: {dt:.1f} s; output {out.shape} {out_mb:.0f} MiB; "
        f"peak traced {peak / 2**20:.0f} MiB, beyond the output {(peak - out.nbytes) / 2**20:.0f} MiB; "
        f"max RSS {_maxrss_mb():.0f} MB"
    )
    del out

    # (b) bands with an N-class semantic map, never holding the full array
    semantic = rng.random((H, W, args.n_semantic), dtype=np.float32)
    tracemalloc.start()
    t0 = time.perf_counter()
    n_bands = 0
    checksum = 0.0
    for r0, r1, feats in features.iter_feature_bands(gray, semantic):
        n_bands += 1
        checksum += float(feats[0, 0, 0])
        band_mb = feats.nbytes / 2**20
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"iter_feature_bands {H}x{W} + semantic N={args.n_semantic} ({81 + args.n_semantic} dims): {dt:.1f} s, "
        f"{n_bands} bands (last {band_mb:.0f} MiB); peak traced {peak / 2**20:.0f} MiB "
        f"(semantic input {semantic.nbytes / 2**20:.0f} MiB not counted); max RSS {_maxrss_mb():.0f} MB"
    )


def _deep_nets(gray, rng, repeats):
    from deepcolor.features.deep import load_net, net_features

    rows, cols = rng.integers(0, gray.shape[0], 250), rng.integers(0, gray.shape[1], 250)
    reference = None
    for net, layers in (("alexnet", (5,)), ("vgg16", (4, 5)), ("vgg16+inception", (4, 5, 6, 7))):
        try:
            trunk = load_net(net, "bench_features.py", device="cpu")
        except ValueError as exc:
            print(f"{net}: not installed, left out ({exc})")
            continue
        net_features(net, gray, rows, cols, trunk, layers)  # warm-up
        med, mn = _med(lambda: net_features(net, gray, rows, cols, trunk, layers), repeats)
        reference = med if net == "alexnet" else reference
        ratio = f", {med / reference:.1f} x AlexNet's conv5" if reference else ""
        print(f"{net} layers {','.join(map(str, layers))}, 224x298, 250 samples: median {med / 1e3:.3f} s, "
              f"min {mn / 1e3:.3f} s{ratio} ({repeats} runs)")


if __name__ == "__main__":
    main()
