"""``deepcolor colorize``: colorize grayscale (or color, converted to gray) photos."""

import glob
import os
import sys

from deepcolor.commands.common import add_command_parser

EPILOG = """\
examples:
  deepcolor colorize old_photo.jpg -o old_photo_color.png
  deepcolor colorize scans/ -o colorized/                 # every image of a folder (recursively)
  deepcolor colorize 'photos/*.jpg' extra.png -o out/ --refine jbf --verbose
  deepcolor colorize photo.jpg -o out/ --model models/mine --force

OUT is a file when the input is a single file and OUT has an image extension; otherwise a
folder that receives one image per input under the input's name (relative to a folder
input). Outputs have the input's size and luminance. Existing files are never replaced
without --force, and an input is never overwritten. A batch continues past unreadable
files and exits with status 1 when any failed.
"""


def register(subparsers):
    from deepcolor.core.settings import ColorizeSettings, add_arguments

    p = add_command_parser(
        subparsers, "colorize", EPILOG,
        help="colorize grayscale images with a trained model",
        description="Colorize images with a Deep Colorization model (default: the shipped model).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (single input) or folder")
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped model)")
    add_arguments(p, ColorizeSettings, stored=True, flags={"predict_stride": "--stride"})
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--verbose", "-v", action="store_true", help="report the cluster used and timings per image")
    p.set_defaults(func=run_command)


def expand_inputs(inputs):
    """``[(path, relative output name)]`` of the inputs; raises when a pattern/path matches nothing."""
    from deepcolor.core.io import is_image_file

    found = []
    for item in inputs:
        if os.path.isdir(item):
            files = []
            for directory, _, names in os.walk(item):
                files += [os.path.join(directory, n) for n in names if is_image_file(n)]
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


def plan_outputs(found, output):
    """``[(input, output path)]``; a single file input with an image-extension OUT writes OUT."""
    from deepcolor.core.io import is_image_file

    single_file = len(found) == 1 and not os.path.isdir(output) and is_image_file(output)
    if single_file:
        return [(found[0][0], output)]
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(f"{output}: exists and is not a folder (several inputs need an output folder)")
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


def run_command(args):
    import time

    from deepcolor.core.io import ImageReadError, load_rgb, save_image
    from deepcolor.core.settings import SettingsError
    from deepcolor.pipeline import Colorizer

    found = expand_inputs(args.inputs)
    plan = plan_outputs(found, args.output)
    try:
        colorizer = Colorizer.load(args.model, refine=args.refine, k=args.lookup_k, layers=args.lookup_layers,
                                   blend=args.blend, stride=args.predict_stride)
    except SettingsError as exc:  # the stored flag name is the train command's; this command says --stride
        raise SettingsError(str(exc).replace("--predict-stride", "--stride")) from None
    inputs = {os.path.abspath(p) for p, _ in found}
    failures = []
    seen = {}
    done = 0
    for src, dest in plan:
        try:
            key = os.path.abspath(dest)
            if key in inputs or any(_same_file(dest, p) for p, _ in found if os.path.exists(dest)):
                raise ValueError(f"{dest}: would overwrite an input image")
            if key in seen:
                raise ValueError(f"{dest}: the same output name as {seen[key]}")
            seen[key] = src
            if os.path.exists(dest) and not args.force:
                raise FileExistsError(f"{dest}: exists (use --force to replace it)")
            t0 = time.perf_counter()
            rgb = load_rgb(src)
            out, info = colorizer.colorize(rgb, return_info=True)
            save_image(dest, out, overwrite=args.force)
            done += 1
            if args.verbose:
                print(f"{src} -> {dest}: {info['lookup']}; refine {info['refine']}; "
                      f"{time.perf_counter() - t0:.2f} s", file=sys.stderr)
        except (ImageReadError, ValueError, FileExistsError, OSError) as exc:
            failures.append(str(exc))
            print(f"deepcolor colorize: failed: {exc}", file=sys.stderr)
    print(f"colorized {done} of {len(plan)} image(s)" + (f"; {len(failures)} failed" if failures else ""),
          file=sys.stderr)
    return 1 if failures else 0
