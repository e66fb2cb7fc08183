"""``deepcolor report``: benchmark every method on SIFT Flow and SUN and write a report."""

import sys

from deepcolor.commands.common import CommandError, add_command_parser, add_scheduler_argument, run_on_scheduler

EPILOG = """\
methods: NAME or NAME:KEY=VALUE[:KEY=VALUE] (keys: refine, hints, hint_size, seed, samples, model;
model=NAME|DIR for deepcolor, deepcolor-norefine, deepcolor-noblend and deepcolor-hints),
comma-separated; 'default' is gray, deepcolor, deepcolor-single, deepcolor-nosemantic,
deepcolor-norefine, deepcolor-noblend, deepcolor-paper, deepcolor:refine=jbf,
deepcolor:refine=dt, welsh-auto, reinhard-auto, levin-hints:hints=10, levin-hints:hints=100
(the ablation models: benchmarks/train_ablations.py). A method whose model is missing is listed as
"not available" and the report goes on.

examples:
  deepcolor report --data ~/datasets -o report
  deepcolor report --data ~/datasets -o /tmp/r --limit 50 --methods gray,deepcolor,reinhard-auto
  deepcolor report -o r --datasets sun --predictions zhang16=~/zhang16/sun --no-runtime
  deepcolor report -o r --predictions iizuka@sun=~/iizuka/sun --sweep 1,2,5,10,20,50,100
  deepcolor report -o r --datasets folder --folder ~/photos --methods gray,reinhard-auto
  deepcolor report --data ~/datasets -o report --video davis   # with the video section
  deepcolor report --data ROOT -o r --datasets general,siftflow,sun --methods gray,deepcolor,deepcolor:model=general

output: OUTDIR/report.md, report.html (figures inline), report.json, psnr_hist.png,
grid.png, worst.png, best.png, runtime.png, hints_sweep.png (with --sweep); the benchmark
runs under --runs (default OUTDIR/runs), one 'deepcolor benchmark' folder per dataset and
method: reused when its run.json matches, resumed when partial, re-run when settings changed.
"""


def register(subparsers):
    from deepcolor.evaluation.report.specs import Settings  # standard library only: --help stays fast

    p = add_command_parser(
        subparsers, "report", EPILOG,
        help="benchmark all methods on SIFT Flow and SUN and write a Markdown/HTML report",
        description=(
            "Run (or reuse) the benchmark of every method on each dataset and write a report: "
            "PSNR mean/median/std with a bootstrap 95% confidence interval, SSIM, AuC, colorfulness, "
            "seconds per image, paired significance tests against deepcolor, per-category PSNR, "
            "PSNR histograms, qualitative grids, run time by image size and the hints sweep."
        ),
    )
    p.add_argument("--data", metavar="ROOT", help="data root holding siftflow/ and sun/ (default: $DEEPCOLOR_DATA)")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="folder for the report")
    p.add_argument("--datasets", default=",".join(Settings.datasets), metavar="D1,D2",
                   help=f"datasets: siftflow, sun, stanford, folder (default: {','.join(Settings.datasets)})")
    p.add_argument("--folder", metavar="DIR", help="with dataset 'folder': the folder of ground-truth color images")
    p.add_argument("--methods", default="default", metavar="M1,M2", help="methods to run (default: 'default', see below)")
    p.add_argument("--predictions", action="append", default=[], metavar="NAME=DIR",
                   help="also score another model's outputs (matched by file name, same size); NAME@DATASET=DIR "
                        "for one dataset; DIR/<dataset>/ is used when it exists; repeatable")
    p.add_argument("--reference", default="deepcolor", metavar="LABEL",
                   help="row the others are tested against and shown in the figures (default: deepcolor)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images of each dataset")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes per benchmark run (default: 1)")
    add_scheduler_argument(p)
    p.add_argument("--runs", metavar="DIR", help="benchmark run folders (default: OUTDIR/runs)")
    p.add_argument("--model", metavar="DIR", help="model of deepcolor and its variants (default: the shipped model)")
    p.add_argument("--cache-dir", metavar="DIR", help="cache for reusable intermediate data (default: ~/.cache/deepcolor)")
    p.add_argument("--sweep", metavar="K1,K2,...", help="also run levin-hints once per hint count (e.g. 1,2,5,10,20,50,100) "
                                                      "and plot PSNR vs hints")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap, the image selection and the methods (default: 0)")
    p.add_argument("--metrics", default=",".join(Settings.metrics), metavar="M1,M2",
                   help="metrics of every run, as 'deepcolor benchmark --metrics' takes them (lpips, fid and dcf "
                        f"add columns to the main table; default: {','.join(Settings.metrics)})")
    p.add_argument("--resamples", type=int, default=Settings.resamples, metavar="B",
                   help=f"bootstrap resamples (default: {Settings.resamples})")
    p.add_argument("--no-runtime", action="store_true", help="skip the run-time measurement")
    p.add_argument("--runtime-sizes", default=Settings.runtime_sizes, metavar="S1,S2",
                   help=f"square sizes timed (default: {Settings.runtime_sizes})")
    p.add_argument("--runtime-repeats", type=int, default=Settings.runtime_repeats, metavar="R",
                   help=f"timed runs per size (default: {Settings.runtime_repeats})")
    p.add_argument("--runtime-budget", type=float, default=Settings.runtime_budget, metavar="S",
                   help=f"seconds per size above 1024 px before fewer runs are made (default: {Settings.runtime_budget:g})")
    p.add_argument("--video", metavar="davis|DIR", help="add the video section: the video benchmark on DAVIS "
                   "(davis) or on a folder of sequences")
    p.add_argument("--no-figures", action="store_true", help="no figures (works without matplotlib)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_command)


def run_command(args):
    return run_on_scheduler(args, _run)


def _run(args):
    from deepcolor.evaluation.benchmark import parse_metrics
    from deepcolor.evaluation.report import Settings, build_report
    from deepcolor.evaluation.report.figures import MatplotlibMissing

    if args.resamples < 1:
        raise ValueError(f"--resamples must be >= 1, got {args.resamples}")
    if args.runtime_repeats < 1:
        raise ValueError(f"--runtime-repeats must be >= 1, got {args.runtime_repeats}")
    settings = Settings(
        output=args.output, data=args.data, datasets=tuple(d.strip() for d in args.datasets.split(",") if d.strip()),
        folder=args.folder, methods=args.methods, predictions=tuple(args.predictions), limit=args.limit,
        jobs=args.jobs, runs=args.runs, model=args.model, cache_dir=args.cache_dir, reference=args.reference,
        seed=args.seed, resamples=args.resamples, metrics=parse_metrics(args.metrics), sweep=args.sweep, runtime=not args.no_runtime,
        runtime_sizes=args.runtime_sizes, runtime_repeats=args.runtime_repeats, runtime_budget=args.runtime_budget,
        figures=not args.no_figures, quiet=args.quiet, video=args.video,
        command=getattr(args, "command_line", ""),
    )
    try:
        report = build_report(settings)
    except MatplotlibMissing as exc:
        raise CommandError(str(exc)) from None
    return 1 if report["failed"] else 0
