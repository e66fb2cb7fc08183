"""Helpers shared by the subcommands: their parsers and their single output image.

Only the standard library is imported at module level: :mod:`deepcolor.cli` imports
every command module to build ``deepcolor --help``, which must stay fast.
"""

import argparse
import os


class CommandError(Exception):
    """A user-facing failure: printed as ``deepcolor COMMAND: error: ...`` with exit status 2."""


def add_command_parser(subparsers, name, epilog, **kwargs):
    """Add the parser of subcommand ``name``, its epilog printed as written.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :meth:`argparse.ArgumentParser.add_subparsers`.
    name : str
        The subcommand.
    epilog : str
        Examples and notes, laid out by hand (line breaks and indentation are kept).
    **kwargs
        Passed on to ``subparsers.add_parser`` (``help``, ``description``).

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    return subparsers.add_parser(
        name, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )


def check_output_image(output, inputs, force):
    """Refuse ``output`` unless it is a new image file (or ``force``) that is not an input.

    Parameters
    ----------
    output : str
        The ``-o`` image file.
    inputs : iterable of str
        The command's input files, never to be overwritten (even with ``force``).
    force : bool
        Whether an existing ``output`` may be replaced.

    Raises
    ------
    CommandError
        ``output`` has no image extension, or is one of ``inputs``.
    FileExistsError
        ``output`` exists and ``force`` is false.
    """
    from deepcolor.core.io import is_image_file

    if not is_image_file(output):
        raise CommandError(f"{output}: output needs an image extension (.png, .jpg, ...)")
    if os.path.exists(output) and not force:
        raise FileExistsError(f"{output}: exists (use --force to replace it)")
    for path in inputs:
        if os.path.abspath(path) == os.path.abspath(output):
            raise CommandError(f"{output}: is an input; refusing to overwrite it")
