"""One streamed cluster network trained on one torch thread against on ``--threads`` threads.

Usage::

    python benchmarks/bench_network_threads.py [--dim 398] [--images 400] [--samples 250]
                                               [--bins 32] [--threads 2] [--repeats 3]

A training with one cluster (``--clusters 1``, the union's models) has one network to train.
With ``--jobs 2`` it went to a one-thread worker process, as many clusters do; this measures
what that costs. The source is synthetic (``--images`` x ``--samples`` float16 rows of
``--dim`` features, as the feature cache gives them; the default 398 is the VGG16 +
Inception model's input: 81 low/mid + 41 semantic + 20 context + 256 deep), and
:func:`deepcolor.networks.streaming.train_network_streaming` runs two epochs (the model's
batch, learning rate, dropout 0.4 and bins) at each thread count, alternating, after one
untimed warm-up, ``--repeats`` times. The second epoch is timed (from the first's end to
its own), so the moments' pass and the bins' k-means, once per network, stay out. Prints
the medians and the ratio of the rates, measured in the same run.

Measured with the other jobs stopped (``--images 400 --repeats 3``): 2.83 s on one thread,
2.76 s on two, 1.02 x: the step is too small to share, so a lone network keeps one thread.
Reading the samples is most of a real epoch (``bench_streaming_read.py``).
"""

import argparse
import time

import numpy as np

from _common import print_calibration


class _Source:
    def __init__(self, images, samples, dim, seed=0):
        rng = np.random.default_rng(seed)
        self.samples = samples
        self.x = rng.normal(size=(images * samples, dim)).astype(np.float16)
        mix = rng.normal(size=(dim, 2)).astype(np.float32) / np.sqrt(dim)
        self.y = np.tanh(self.x.astype(np.float32) @ mix) * 0.2

    def __len__(self):
        return len(self.x) // self.samples

    def load(self, positions):
        rows = np.concatenate([np.arange(p * self.samples, (p + 1) * self.samples) for p in positions])
        return self.x[rows], self.y[rows]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=398)
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--samples", type=int, default=250)
    ap.add_argument("--bins", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if min(args.dim, args.images, args.samples, args.repeats) < 1 or args.threads < 2:
        ap.error("positive sizes and --threads >= 2 are needed")
    import torch

    from deepcolor.core.settings import TrainSettings
    from deepcolor.networks.streaming import train_network_streaming

    print_calibration()
    source = _Source(args.images, args.samples, args.dim)
    fit = dict(epochs=2, batch_size=TrainSettings.batch_size, lr=TrainSettings.lr, seed=0, device="cpu",
               dropout=0.4, bins=args.bins, temperature=1.0)
    times = {1: [], args.threads: []}
    train_network_streaming(source, **fit)  # warm-up
    for _ in range(args.repeats):
        for threads in times:
            torch.set_num_threads(threads)
            ends = []
            train_network_streaming(source, progress=lambda epoch, loss: ends.append(time.perf_counter()), **fit)
            times[threads].append(ends[1] - ends[0])
    rows = args.images * args.samples
    for threads, ts in times.items():
        median = sorted(ts)[len(ts) // 2]
        print(f"{threads} thread(s): one epoch of {rows} rows x {args.dim} (the second), median "
              f"{median:.2f} s, {rows / median / 1e3:.0f} k rows/s ({args.repeats} runs)")
    one, many = (sorted(times[t])[len(times[t]) // 2] for t in times)
    print(f"{args.threads} threads / 1 thread: {one / many:.2f} x the rate")


if __name__ == "__main__":
    main()
