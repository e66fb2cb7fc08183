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

``cluster`` trains and judges one cluster of a trained model again, once per
``--stream-rows`` value, each in a fresh process, and prints each one's peak resident
memory, time and mean training PSNR: a worker's memory is set by ``--stream-rows``, not by
the size of the cluster or of the set::

    python benchmarks/bench_scale.py cluster --data ROOT --model MODEL --cluster L0_C010
        [--dataset ...] [--stream-rows 250000,1000000]

``plan`` extrapolates a trained model's measured costs to ``--images`` reference images
(default 1,281,167, ImageNet's training set)::

    python benchmarks/bench_scale.py plan --model MODEL --feature-rate IMG_PER_S_PER_WORKER
        [--cache DIR] [--images 1281167] [--hours 24]

per layer, the share of the images it trains on and its core-seconds per image (network
training plus judging, the sum of the clusters' ``train_seconds`` in ``model.json``); the
feature stage from ``--feature-rate`` (``throughput``'s images/s of one worker); the store
from the mean size of up to 2000 entries of the feature cache with the model's feature size; the workers a run of
``--hours`` needs. Single-thread CPU workers throughout.
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


def cluster(args):
    results = {}
    for rows in [int(r) for r in args.stream_rows.split(",")]:
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, os.path.abspath(__file__), "_one-cluster", "--data", args.data, "--model",
                       args.model, "--cluster", args.cluster, "--stream-rows", str(rows), "--out", out,
                       "--dataset", *args.dataset]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            results[rows] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[rows]
        print(f"{args.cluster}: {r['images']} images, {r['rows']:,} samples; --stream-rows {rows:,} "
              f"({'streamed' if r['streamed'] else 'in memory'}): peak {r['peak_mb']:.0f} MB, "
              f"{r['seconds']:.0f} s, mean training PSNR {r['mean_psnr']:.3f} dB", flush=True)
    return 0


def _one_cluster(args):
    import dataclasses
    import resource

    from deepcolor.core.settings import TrainSettings
    from deepcolor.pipeline.cluster_networks import _cluster_job

    settings, saved, tset = _common.cluster_training_set(args.data, args.model, args.cluster, args.dataset)
    train = TrainSettings(**{k: v for k, v in settings.items() if k in {f.name for f in dataclasses.fields(TrainSettings)}})
    train = dataclasses.replace(train, stream_rows=args.stream_rows, judge_last=True)  # this study reports it
    os.makedirs(os.path.join(args.out, "networks"), exist_ok=True)
    start = time.perf_counter()
    _, result = _cluster_job((saved["layer"], saved["index"], list(range(len(tset)))), tset, args.out, train, 1, "cpu")
    seconds = time.perf_counter() - start
    rows = len(tset) * settings["samples"]
    print(json.dumps({"images": len(tset), "rows": rows, "streamed": rows > args.stream_rows, "seconds": seconds,
                      "mean_psnr": sum(result["psnrs"]) / len(result["psnrs"]) if result["psnrs"] else None,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
    return 0


def plan(args):
    import collections

    from deepcolor.core.paths import cache_dir

    with open(os.path.join(args.model, "model.json"), encoding="utf-8") as handle:
        model = json.load(handle)
    with open(os.path.join(args.model, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    seconds, members = collections.Counter(), collections.Counter()
    for cluster in model["clusters"]:
        seconds[cluster["layer"]] += cluster["train_seconds"]
        members[cluster["layer"]] += len(cluster["members"])
    n_model = members[0]
    per_image = 0.0
    print(f"measured on {n_model} images ({args.model}):")
    for layer in sorted(members):
        share = members[layer] / n_model
        cost = seconds[layer] / members[layer]
        per_image += share * cost
        print(f"  layer {layer}: {share:.0%} of the images, {cost:.3f} core-s per image (network + judging)")
    print(f"  networks and judging: {per_image:.3f} core-s per reference image; features: "
          f"{1 / args.feature_rate:.3f} core-s per image ({args.feature_rate:g} img/s per worker)")
    # an entry holds samples x D float32 features, the targets, the gist and the histogram:
    # a sample of the cache's entries of this model's D (and without the full semantic map
    # older caches stored) measures the store per image
    feats_bytes = model["features"]["samples_per_image"] * model["features"]["input_dim"] * 4 + 128
    sizes = [os.path.getsize(f) for f in _cache_files(cache_dir(args.cache, "features"), feats_bytes, 2000)]
    store = (sum(sizes) / len(sizes) / 1e6) if sizes else float("nan")
    n = args.images
    core_hours = n * (1 / args.feature_rate + per_image) / 3600
    workers = core_hours / args.hours
    peaks = manifest.get("peak_rss_mb", {})
    worker_mb = max(list(peaks.get("dask_workers", {}).values()) or [peaks.get("largest_worker", float("nan"))])
    print(f"for {n:,} images: features {n / args.feature_rate / 3600:,.0f} core-hours, networks and judging "
          f"{n * per_image / 3600:,.0f} core-hours, {core_hours:,.0f} in all; store {store:.2f} MB per image "
          f"(mean of {len(sizes)} cache entries) = {n * store / 1e3:,.0f} GB; gists in the client "
          f"{n * 512 * 4 / 1e9:.1f} GB (float32); a {args.hours:g}-hour run needs {workers:,.0f} single-thread "
          f"workers at {worker_mb:,.0f} MB each (the largest worker's peak measured)")
    return 0


def _cache_files(root, feats_bytes, limit):
    """Up to ``limit`` feature-cache entries whose features take ``feats_bytes`` (one model's D)."""
    import zipfile

    out = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".npz"):
                continue
            with zipfile.ZipFile(path) as entry:
                listing = {i.filename: i.file_size for i in entry.infolist()}
            if listing.get("feats.npy") == feats_bytes and "semantic.npy" not in listing:
                out.append(path)
                if len(out) >= limit:
                    return out
    return out


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
    for name in ("cluster", "_one-cluster"):
        c = sub.add_parser(name)
        c.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
        c.add_argument("--model", required=True)
        c.add_argument("--cluster", required=True)
        c.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
        c.add_argument("--stream-rows", default="250000,1000000" if name == "cluster" else None,
                       type=str if name == "cluster" else int)
        if name != "cluster":
            c.add_argument("--out", required=True)
    q = sub.add_parser("plan")
    q.add_argument("--model", required=True)
    q.add_argument("--feature-rate", type=float, required=True)
    q.add_argument("--cache")
    q.add_argument("--images", type=int, default=1281167)
    q.add_argument("--hours", type=float, default=24.0)
    args, extra = parser.parse_known_args(argv)
    if args.what == "throughput":
        return throughput(args)
    if args.what == "plan":
        return plan(args)
    if args.what == "cluster":
        return cluster(args)
    if args.what == "_one-cluster":
        return _one_cluster(args)
    return train(args, [e for e in extra if e != "--"])


if __name__ == "__main__":
    sys.exit(main())
