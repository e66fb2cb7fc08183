"""``deepcolor colorize``: colorize grayscale (or color, converted to gray) photos."""

import contextlib
import glob
import os
import sys

from deepcolor.commands.common import CommandError, add_command_parser

EPILOG = """\
examples:
  deepcolor colorize old_photo.jpg -o old_photo_color.png
  deepcolor colorize scans/ -o colorized/                 # every image of a folder (recursively)
  deepcolor colorize 'photos/*.jpg' extra.png -o out/ --refine jbf --verbose
  deepcolor colorize photo.jpg -o out/ --model models/mine --force
  deepcolor colorize portrait.jpg -o out/ --model general-vgg-vivid --temperature 0.6  # less vivid
  deepcolor colorize scans/ -o colorized/ --skip-existing # continue an interrupted batch
  deepcolor colorize film.mp4 -o film_color.mp4           # a video: same size, frame rate and sound
  deepcolor colorize film.mp4 -o film_color.mp4 --resume  # continue after a kill, from the last part
  deepcolor colorize frames/ -o film_color.mkv --fps 24   # a folder of numbered frames is one video
  deepcolor colorize film.mp4 -o film_frames/             # a video into numbered PNG frames

OUT is a file when the input is a single file and OUT has an image extension; otherwise a
folder (existing, or a path without an extension) that receives one image per input under
the input's name (relative to a folder input). Outputs have the input's size and
luminance. Existing files are never replaced without --force (--skip-existing keeps them
and goes on), an input is never overwritten, and an output folder inside an input folder
is never read as input. A batch continues past unreadable files and exits with status 1
when any failed; Ctrl-C stops it with a count of what was done and what is left.

Videos (.mp4 .m4v .mov .mkv .avi .webm) are colorized with temporal stability: one
cluster lookup per shot and chroma carried along the optical flow (--per-frame turns it
off). A folder of frames is one video when OUT is a video file or --video is given.
The output is written in parts of --chunk frames beside it (.OUT.parts/); after a kill,
--resume continues from the last finished part.
"""


def register(subparsers):
    from deepcolor.core.settings import ColorizeSettings, VideoSettings, add_arguments

    p = add_command_parser(
        subparsers, "colorize", EPILOG,
        help="colorize grayscale images with a trained model",
        description="Colorize images with a Deep Colorization model (default: the shipped model).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (single input) or folder")
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped model)")
    add_arguments(p, ColorizeSettings, stored=True, flags={"predict_stride": "--stride"})
    video = p.add_argument_group("video")
    video.add_argument("--video", action="store_true", help="a folder input is the frames of one video, "
                       "not a batch of photos (implied when OUT is a video file)")
    video.add_argument("--fps", type=float, default=25.0, help="frame rate of a folder of frames (default: 25)")
    add_arguments(video, VideoSettings)
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--force", action="store_true", help="replace existing output files")
    existing.add_argument("--skip-existing", action="store_true",
                          help="keep existing output files and colorize only the missing ones (exit status 0)")
    existing.add_argument("--resume", action="store_true",
                          help="video: continue an interrupted run from its last finished part; "
                               "photos: the same as --skip-existing")
    p.add_argument("--verbose", "-v", action="store_true", help="report the cluster used and timings per image")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_command)


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def expand_inputs(inputs, exclude=None):
    """``[(path, relative output name)]`` of the inputs; raises when a pattern/path matches nothing.

    Files inside ``exclude`` (the output folder) are never taken from a folder input, so
    a second run into ``IN/sub/`` does not colorize its own outputs.
    """
    from deepcolor.core.io import is_image_file

    found = []
    for item in inputs:
        if os.path.isdir(item):
            files = []
            for directory, subdirs, names in os.walk(item):
                if exclude and _inside(directory, exclude):
                    subdirs[:] = []
                    continue
                subdirs.sort()
                files += [os.path.join(directory, n) for n in names if is_image_file(n) and not n.startswith(".")]
            if not files:
                raise FileNotFoundError(f"{item}: no image files in this folder")
            found += [(f, os.path.relpath(f, item)) for f in sorted(files)]
        elif os.path.exists(item):
            found.append((item, os.path.basename(item)))
        elif glob.has_magic(item):
            matches = sorted(m for m in glob.glob(item, recursive=True) if os.path.isfile(m))
            if not matches:
                raise FileNotFoundError(f"{item}: no file matches this pattern")
            found += [(m, os.path.basename(m)) for m in matches]
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return found


def output_is_file(inputs, output):
    """Whether ``-o`` names one image file (else an output folder); refuses what it cannot mean."""
    from deepcolor.core.io import IMAGE_EXTENSIONS, is_image_file

    if os.path.isdir(output):
        return False
    ext = os.path.splitext(output)[1]
    single = len(inputs) == 1 and os.path.isfile(inputs[0]) and not glob.has_magic(inputs[0])
    if is_image_file(output):
        if not single:
            raise CommandError(f"{output}: several inputs need an output folder (an existing folder, or a path "
                               "without an image extension), not an image file name")
        return True
    if ext:
        raise CommandError(f"{output}: unknown image extension {ext!r}; use one of {', '.join(IMAGE_EXTENSIONS)} "
                           "for a file, or a folder path without an extension")
    if os.path.exists(output):
        raise CommandError(f"{output}: exists and is not a folder")
    return False


def plan_outputs(found, output, as_file):
    """``[(input, output path)]``: OUT itself, or one ``.png``-or-same-extension file per input in OUT."""
    from deepcolor.core.io import is_image_file

    if as_file:
        return [(found[0][0], output)]
    plan = []
    for path, rel in found:
        dest = os.path.join(output, rel)
        if not is_image_file(dest):
            dest = os.path.splitext(dest)[0] + ".png"
        plan.append((path, dest))
    return plan


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _check_destination(dest, src, found, inputs, seen, force):
    key = os.path.abspath(dest)
    if key in inputs or (os.path.exists(dest) and any(_same_file(dest, p) for p, _ in found)):
        raise ValueError(f"{dest}: would overwrite an input image")
    if key in seen:
        raise ValueError(f"{dest}: the same output name as {seen[key]}")
    seen[key] = src
    if os.path.exists(dest) and not force:
        raise FileExistsError(f"{dest}: exists (use --force to replace it, or --skip-existing to keep it)")


#: Stages of one image, as :meth:`Colorizer.colorize` reports them, with reading and saving.
STAGES = ("read", "analyze", "predict", "refine", "upsample", "combine", "save")


@contextlib.contextmanager
def _stage_bar(name, quiet):
    """A progress bar over one image's stages, shown only once the image takes over 2 s."""
    from tqdm import tqdm

    bar = tqdm(total=len(STAGES), desc=os.path.basename(name), unit="stage", delay=2.0, leave=False,
               disable=quiet, file=sys.stderr, bar_format="{desc} ({n_fmt}/{total_fmt} stages) [{elapsed}]")

    def stage(stage_name):
        # refresh=False and update(): both respect the bar's delay, so a fast image prints nothing
        bar.set_description_str(f"{os.path.basename(name)}: {stage_name}", refresh=False)
        if stage_name in STAGES:
            bar.update(STAGES.index(stage_name) - bar.n)

    try:
        yield stage
    finally:
        bar.close()


def video_job(args):
    """``(source, output)`` when this run colorizes one video, else None (a batch of photos)."""
    from deepcolor.core.io import is_image_file
    from deepcolor.core.video import is_video_file

    videos = [i for i in args.inputs if is_video_file(i) and not os.path.isdir(i)]
    frames_folder = len(args.inputs) == 1 and os.path.isdir(args.inputs[0]) and (
        args.video or is_video_file(args.output))
    if not videos and not frames_folder:
        if args.video:
            raise CommandError("--video needs one input: a video file or a folder of frames")
        return None
    if len(args.inputs) != 1:
        raise CommandError(f"{videos[0] if videos else args.inputs[0]}: colorize one video at a time "
                           f"(got {len(args.inputs)} inputs)")
    source = args.inputs[0]
    if not os.path.exists(source):
        raise FileNotFoundError(2, "No such file or directory", source)
    if is_image_file(args.output):
        raise CommandError(f"{args.output}: a video is colorized into a video file (.mp4, .mkv, .mov, .avi, .webm) "
                           "or a folder of frames, not one image")
    ext = os.path.splitext(args.output)[1]
    if ext and not is_video_file(args.output) and not os.path.isdir(args.output):
        raise CommandError(f"{args.output}: unknown video extension {ext!r}; use .mp4, .m4v, .mov, .mkv, .avi or "
                           ".webm, or a folder path without an extension for numbered frames")
    if os.path.exists(args.output) and os.path.abspath(args.output) == os.path.abspath(source):
        raise CommandError(f"{args.output}: would overwrite the input")
    return source, args.output


def run_video(args, source, output):
    """Colorize one video (see :func:`deepcolor.pipeline.video_job.colorize_video`)."""
    from tqdm import tqdm

    from deepcolor.core.settings import VideoSettings, from_arguments
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.video_job import colorize_video

    if args.fps <= 0:
        raise CommandError(f"--fps must be positive, got {args.fps}")
    settings = from_arguments(VideoSettings, args)
    colorizer = Colorizer.load(args.model, refine=args.refine, k=args.lookup_k, layers=args.lookup_layers,
                               blend=args.blend, stride=args.predict_stride, working_size=args.working_size,
                               temperature=args.temperature)
    # the bar shows after half a second, so an input refused at once prints no empty bar
    bar = tqdm(desc=os.path.basename(os.path.normpath(source)), unit="frame", delay=0.5, disable=args.quiet,
               file=sys.stderr, dynamic_ncols=True)

    started = []

    def progress(done, total):
        if total and bar.total != total:
            bar.total = total
        if not started:  # resumed: the frames done before are not counted in this run's rate
            started.append(done)
            bar.n = bar.last_print_n = done
        bar.update(done - bar.n)

    try:
        result = colorize_video(colorizer, source, output, settings=settings, fps=args.fps,
                                resume=args.resume or args.skip_existing, force=args.force, progress=progress,
                                log=lambda message: bar.write(message, file=sys.stderr))
    except KeyboardInterrupt:
        bar.close()
        print("stopped; run the same command with --resume to continue from the last finished part",
              file=sys.stderr)
        raise
    finally:
        bar.close()
    fps = (result["frames"] - result["resumed_from"]) / max(result["seconds"], 1e-9)
    shots = f"{len(result['shots'])} shot(s)" if settings.stabilize else "frame by frame"
    print(f"colorized {result['frames']} frame(s) into {output}: {shots}, "
          f"{fps:.1f} frames/s" + (f", resumed after frame {result['resumed_from']}" if result["resumed_from"]
                                   else ""), file=sys.stderr)
    if args.verbose:
        print(f"shots start at frames {result['shots']}", file=sys.stderr)
    return 0


def run_command(args):
    import time

    from tqdm import tqdm

    from deepcolor.commands.common import USER_ERRORS, describe_error
    from deepcolor.core.files import remove_stale_temporaries_in
    from deepcolor.core.io import load_rgb, save_image
    from deepcolor.core.settings import SettingsError
    from deepcolor.pipeline import Colorizer

    job = video_job(args)
    if job is not None:
        return run_video(args, *job)
    if args.resume:
        args.skip_existing = True
    as_file = output_is_file(args.inputs, args.output)
    found = expand_inputs(args.inputs, exclude=None if as_file else args.output)
    plan = plan_outputs(found, args.output, as_file)
    try:
        colorizer = Colorizer.load(args.model, refine=args.refine, k=args.lookup_k, layers=args.lookup_layers,
                                   blend=args.blend, stride=args.predict_stride, working_size=args.working_size,
                                   temperature=args.temperature)
    except SettingsError as exc:  # the stored flag name is the train command's; this command says --stride
        raise SettingsError(str(exc).replace("--predict-stride", "--stride")) from None
    inputs = {os.path.abspath(p) for p, _ in found}
    outputs_by_folder = {}
    for _, dest in plan:
        outputs_by_folder.setdefault(os.path.dirname(os.path.abspath(dest)), set()).add(os.path.basename(dest))
    for folder, names in outputs_by_folder.items():  # what a killed run (SIGKILL, power loss) left behind
        remove_stale_temporaries_in(folder, names)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    seen = {}
    bar = tqdm(plan, desc="colorize", unit="img", disable=args.quiet or len(plan) < 2, file=sys.stderr)
    try:
        for src, dest in bar:
            if args.skip_existing and os.path.exists(dest) and os.path.abspath(dest) not in inputs:
                counts["skipped"] += 1
                seen[os.path.abspath(dest)] = src
                continue
            try:
                _check_destination(dest, src, found, inputs, seen, args.force)
                t0 = time.perf_counter()
                with _stage_bar(src, args.quiet) as stage:
                    stage("read")
                    out, info = colorizer.colorize(load_rgb(src), return_info=True, progress=stage)
                    stage("save")
                    save_image(dest, out, overwrite=args.force)
                counts["done"] += 1
                if args.verbose:
                    bar.write(f"{src} -> {dest}: {info['lookup']}; refine {info['refine']}; "
                              f"{time.perf_counter() - t0:.2f} s", file=sys.stderr)
            except USER_ERRORS as exc:
                counts["failed"] += 1
                bar.write(f"deepcolor colorize: failed: {describe_error(exc)[0]}", file=sys.stderr)
    except KeyboardInterrupt:
        bar.close()
        left = len(plan) - sum(counts.values())
        print(f"stopped: {counts['done']} colorized, {counts['skipped']} skipped (existed), {counts['failed']} "
              f"failed, {left} left; run the same command with --skip-existing to continue", file=sys.stderr)
        raise
    bar.close()
    print(f"colorized {counts['done']} of {len(plan)} image(s)"
          + (f"; {counts['skipped']} skipped (existed)" if counts["skipped"] else "")
          + (f"; {counts['failed']} failed" if counts["failed"] else ""), file=sys.stderr)
    return 1 if counts["failed"] else 0
