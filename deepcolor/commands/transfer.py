"""``deepcolor transfer``: colour a gray image from a reference photo (Welsh 2002, Reinhard 2001)."""

from deepcolor.commands.common import CommandError, add_command_parser, check_output_image

EPILOG = """\
examples:
  deepcolor transfer beach_gray.jpg --reference beach_color.jpg -o beach_color_transfer.png
  deepcolor transfer beach_gray.jpg --reference beach_color.jpg --method reinhard -o out.png --force

welsh: every pixel takes the chroma of the reference sample (of --samples, on a jittered
grid) that best matches its luminance and 5x5 standard deviation (Welsh, Ashikhmin,
Mueller 2002). reinhard: the reference's mean l-alpha-beta chroma, a global tint
(Reinhard et al. 2001). Both keep GRAY's luminance.
"""

METHODS = ("welsh", "reinhard")


def register(subparsers):
    from deepcolor.core.settings import TransferSettings, add_arguments

    p = add_command_parser(
        subparsers, "transfer", EPILOG,
        help="colour a gray image from a colour reference (Welsh et al. 2002, Reinhard et al. 2001)",
        description="Transfer the colours of a reference photo to a grayscale image.",
    )
    p.add_argument("gray", metavar="GRAY", help="grayscale image (a colour file is converted to gray)")
    p.add_argument("--reference", "-r", required=True, metavar="REF", help="colour reference image")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image file")
    p.add_argument("--method", choices=METHODS, default="welsh", help="transfer method (default: welsh)")
    add_arguments(p, TransferSettings)
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run_command)


def run_command(args):
    from deepcolor.core.io import load_gray, load_rgb, save_image

    check_output_image(args.output, (args.gray, args.reference), args.force)
    if args.samples < 1:
        raise CommandError(f"--samples must be >= 1, got {args.samples}")
    gray = load_gray(args.gray)
    reference = load_rgb(args.reference)
    from deepcolor.baselines.transfer import reinhard_transfer, welsh_transfer

    if args.method == "welsh":
        out = welsh_transfer(gray, reference, samples=args.samples, seed=args.seed)
    else:
        out = reinhard_transfer(gray, reference)
    save_image(args.output, out, overwrite=args.force)
    return 0
