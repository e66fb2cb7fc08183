"""Training at scale: feature-extraction throughput per Dask worker count, and the memory
and stage times of a training run on a Dask LocalCluster.

Usage::

    python benchmarks/bench_scale.py throughput --data ROOT [--dataset siftflow:train] [--images 240]
        [--workers 1,2]
    python benchmarks/bench_scale.py train --data ROOT -o MODEL [--dataset siftflow:train sun:extra ...]
        [--scheduler local:2] [--cache DIR] [-- more deepcolor train options]

``throughput`` extracts the training features (patch, DAISY, parser, gist, semantic
histogram) of ``--images`` images spread over the list, once per worker count, each
into a fresh temporary cache (nothing is reused), on a ``LocalCluster`` of that many
single-threaded workers; prints images per second and the ratio to one worker. The last
2 images per worker warm the workers up first (imports, compiled kernels, the parser)
and are not timed.

``train`` runs ``deepcolor train --scheduler ...`` in a child process and prints, from
the model's manifest, the time of the feature stage and of the whole run, the client's
peak resident memory and each Dask worker's.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def throughput(args):
    from deepcolor.commands.train import parse_dataset, spread
    from deepcolor.core.parallel import scheduler_session
    from deepcolor.core.paths import SHIPPED_PARSER_DIR
    from deepcolor.core.settings import FeatureSettings
    from deepcolor.data import resolve_data_root
    from deepcolor.pipeline.training_set import feature_config, prepare

    root = resolve_data_root(args.data)
    records = []
    for spec in args.dataset:
        records += parse_dataset(spec, root)
    records = spread(records, args.images)
    features = FeatureSettings()
    config = feature_config(features.samples, 0, features.semantic, SHIPPED_PARSER_DIR)
    rates = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as cache, scheduler_session(f"local:{workers}") as session:
            # warm-up, not timed: every worker imports torch and Numba's kernels and loads the parser
            warm = records[-2 * workers:]
            prepare(warm, config, cache, parser=SHIPPED_PARSER_DIR, jobs=session.jobs, progress=False)
            timed = records[: -2 * workers]
            start = time.perf_counter()
            tset = prepare(timed, config, cache, parser=SHIPPED_PARSER_DIR, jobs=session.jobs, progress=False)
            seconds = time.perf_counter() - start
            peaks = session.worker_peak_mb()
        rates[workers] = len(tset) / seconds
        print(f"{workers} worker(s): {len(tset)} images in {seconds:.1f} s, {rates[workers]:.2f} img/s, "
              f"x{rates[workers] / rates[min(rates)]:.2f} of {min(rates)} worker(s); worker peak memory "
              + ", ".join(f"{mb:.0f}" for mb in peaks.values()) + " MB", flush=True)
    return 0


def train(args, extra):
    command = [sys.executable, "-m", "deepcolor", "train", "--data", args.data, "-o", args.output,
               "--scheduler", args.scheduler, "--dataset", *args.dataset, "--quiet"]
    if args.cache:
        command += ["--cache", args.cache]
    command += extra
    print("running:", " ".join(command), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command)
    wall = time.perf_counter() - start
    if done.returncode:
        return done.returncode
    with open(os.path.join(args.output, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    with open(os.path.join(args.output, "model.json"), encoding="utf-8") as handle:
        timing = json.load(handle)["timing"]
    peaks = manifest["peak_rss_mb"]
    print(f"images {manifest['data']['images_used']}; engine {manifest.get('engine')}")
    print(f"features {timing['features_seconds'] / 60:.1f} min, networks and judging "
          f"{(timing['total_seconds'] - timing['features_seconds']) / 60:.1f} min, whole command {wall / 60:.1f} min")
    print(f"peak memory: client {peaks['main']:.0f} MB; workers "
          + ", ".join(f"{mb:.0f}" for mb in peaks.get("dask_workers", {}).values()) + " MB")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    t.add_argument("--dataset", nargs="+", default=["siftflow:train"])
    t.add_argument("--images", type=int, default=240)
    t.add_argument("--workers", default="1,2")
    r = sub.add_parser("train")
    r.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    r.add_argument("-o", "--output", required=True)
    r.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra"])
    r.add_argument("--scheduler", default="local:2")
    r.add_argument("--cache")
    args, extra = parser.parse_known_args(argv)
    if args.what == "throughput":
        return throughput(args)
    return train(args, [e for e in extra if e != "--"])


if __name__ == "__main__":
    sys.exit(main())
