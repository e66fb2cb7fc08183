"""The ``deepcolor`` command line.

Every subcommand lives in its own module under :mod:`deepcolor.commands` with a
``register(subparsers)`` function that adds its parser and sets ``func`` (the handler,
which imports heavy dependencies only when run, so ``--help`` stays fast).
"""

import argparse
import importlib
import os
import shlex
import signal
import sys
import warnings

from deepcolor import __version__
from deepcolor.commands.common import USER_ERRORS, Terminated, describe_error

#: Subcommand modules, in the order ``deepcolor --help`` lists them.
COMMAND_MODULES = [
    "deepcolor.commands.train",
    "deepcolor.commands.colorize",
    "deepcolor.commands.check_model",
    "deepcolor.commands.benchmark",
    "deepcolor.commands.parser",
    "deepcolor.commands.scribble",
    "deepcolor.commands.transfer",
    "deepcolor.commands.report",
    "deepcolor.commands.serve",
    "deepcolor.commands.models",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="deepcolor",
        description=(
            "Deep Colorization (Cheng, Yang, Sheng, ICCV 2015) reimplemented: colorize "
            "grayscale photos, train models, and benchmark colorization methods with the "
            "paper's PSNR protocol. Run 'deepcolor COMMAND --help' for each command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"deepcolor {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv=None):
    # Before any OpenMP runtime starts (torch, Numba): spin-waiting threads can cost each
    # parallel region a scheduler time slice on shared cores (see the features package).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    # the command as typed, for the records commands write (a model's manifest)
    args.command_line = "deepcolor " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    previous_term = signal.signal(signal.SIGTERM, _terminate)
    previous_warning = warnings.showwarning
    warnings.showwarning = _one_line_note
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        message, status = describe_error(exc)
        print(f"deepcolor {args.command}: error: {message}", file=sys.stderr)
        return status
    except KeyboardInterrupt as exc:
        print(f"deepcolor {args.command}: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}",
              file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        warnings.showwarning = previous_warning


def _terminate(signum, frame):
    raise Terminated()


def _one_line_note(message, category, filename, lineno, file=None, line=None):
    print(f"deepcolor: note: {message}", file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
