"""``deepcolor scribble``: colorize from coloured strokes (Levin, Lischinski, Weiss 2004)."""

from deepcolor.commands.common import CommandError, add_command_parser, check_output_image

EPILOG = """\
examples:
  deepcolor scribble photo_gray.png photo_marked.png -o photo_color.png
  deepcolor scribble photo_gray.png photo_marked.png --mask strokes.png -o out.png --force
  deepcolor scribble photo_gray.png photo_marked.png --auto -o out.png   # the automatic result, bent to the strokes

MARKED is GRAY with coloured strokes painted on it (as in the paper's demo): a pixel is
a hint where its chroma (U or V) differs from GRAY's by more than --tolerance levels,
which absorbs JPEG noise. With --mask, the hints are the nonzero pixels of MASK instead
and their colours come from MARKED. The output keeps GRAY's luminance.

Without --auto the strokes are all there is (Levin et al.: few strokes leave most of the
image to spread from them). With --auto, deepcolor colorizes GRAY automatically and the
strokes correct it where they are, fading along the image's edges (deepcolor-hints).
"""


def register(subparsers):
    from deepcolor.core.hints import MARK_TOLERANCE

    p = add_command_parser(
        subparsers, "scribble", EPILOG,
        help="colorize a gray image from coloured strokes (Levin et al. 2004)",
        description=(
            "Colorization using optimization (Levin, Lischinski, Weiss, SIGGRAPH 2004): the colours of "
            "the strokes spread to pixels of similar luminance."
        ),
    )
    p.add_argument("gray", metavar="GRAY", help="grayscale image (a colour file is converted to gray)")
    p.add_argument("marked", metavar="MARKED", help="GRAY with coloured strokes painted on it")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image file")
    p.add_argument("--mask", metavar="MASK", help="explicit hint mask: nonzero pixels are hints")
    p.add_argument(
        "--tolerance", type=float, default=MARK_TOLERANCE, metavar="T",
        help=f"chroma difference (levels) that makes a MARKED pixel a hint (default: {MARK_TOLERANCE:g})",
    )
    p.add_argument("--auto", action="store_true",
                   help="start from deepcolor's automatic colorization and bend it to the strokes")
    p.add_argument("--model", metavar="DIR", help="with --auto: the model (default: the shipped model)")
    p.add_argument("--hint-weight", type=float, metavar="LAMBDA",
                   help="with --auto: how local a stroke's correction stays (default: the setting's "
                        "data_weight; larger = more local)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run_command)


def _size(image):
    return f"{image.shape[1]}x{image.shape[0]}"


def run_command(args):
    from deepcolor.core.color import to_gray
    from deepcolor.core.io import load_rgb, save_image

    check_output_image(args.output, (args.gray, args.marked), args.force)
    gray_rgb = load_rgb(args.gray)
    marked = load_rgb(args.marked)
    if marked.shape != gray_rgb.shape:
        raise CommandError(
            f"{args.marked}: is {_size(marked)} but {args.gray} is {_size(gray_rgb)}; they must have the same size"
        )
    if args.mask:
        from deepcolor.core.io import load_gray

        mask_image = load_gray(args.mask)
        if mask_image.shape != gray_rgb.shape[:2]:
            raise CommandError(
                f"{args.mask}: is {_size(mask_image)} but {args.gray} is {_size(gray_rgb)}; they must have the same size"
            )
        mask = mask_image > 0
        if not mask.any():
            raise CommandError(f"{args.mask}: no hint (the mask has no nonzero pixel)")
    else:
        from deepcolor.core.hints import hints_from_marked

        mask = hints_from_marked(gray_rgb, marked, tolerance=args.tolerance)
        if not mask.any():
            raise CommandError(
                f"{args.marked}: no hint found (no pixel's chroma differs from {args.gray} by more than "
                f"{args.tolerance:g} levels); paint coloured strokes or pass --mask"
            )
    if (args.hint_weight is not None or args.model) and not args.auto:
        raise CommandError("--hint-weight and --model apply to --auto only")
    if args.hint_weight is not None and args.hint_weight < 0:
        raise CommandError(f"--hint-weight must be >= 0, got {args.hint_weight:g}")
    if args.auto:
        from deepcolor.pipeline import Colorizer

        colorizer = Colorizer.load(args.model)
        out = colorizer.colorize(to_gray(gray_rgb, args.gray), hints=(marked, mask), hint_weight=args.hint_weight)
    else:
        from deepcolor.baselines.levin import levin_colorize

        out = levin_colorize(to_gray(gray_rgb, args.gray), marked, mask)
    save_image(args.output, out, overwrite=args.force)
    return 0
