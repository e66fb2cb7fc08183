"""Helpers shared by the subcommands: their parsers and their single output image.

Only the standard library is imported at module level: :mod:`deepcolor.cli` imports
every command module to build ``deepcolor --help``, which must stay fast.
"""

import argparse
import errno
import os
import re


class CommandError(Exception):
    """A user-facing failure: printed as ``deepcolor COMMAND: error: ...`` with exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that commands clean up as on Ctrl-C (exit status 143)."""


#: What a failed file operation means for the user, by errno.
_OS_ERRORS = {
    errno.EROFS: "cannot write here: the file system is read-only; choose another output",
    errno.EACCES: "permission denied; choose a path you may read or write",
    errno.EPERM: "operation not permitted; choose a path you may read or write",
    errno.ENOSPC: "no space left on the device; free some space or choose another output",
    errno.EDQUOT: "disk quota exceeded; free some space or choose another output",
    errno.ENOTDIR: "a file stands where a folder is needed; move it or choose another output",
    errno.EEXIST: "a file stands where a folder is needed; move it or choose another output",
    errno.EISDIR: "is a folder, not a file",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENOENT: "no such file or folder",
}
_TEMPORARY = re.compile(r"(^|/)\.([^/]+)\.tmp-\d+(\.\w+)?$")


def describe_error(exc):
    """One sentence for a user mistake or a damaged file: ``(message, exit status)``.

    The one place that turns exceptions into what the command line prints: errno texts
    become sentences naming the file (a temporary ``.NAME.tmp-PID`` name is shown as the
    ``NAME`` being written), a ``KeyError`` loses its quotes. Anything not listed here is
    a bug and keeps its traceback.
    """
    if isinstance(exc, OSError) and exc.errno is not None and not isinstance(exc, (FileNotFoundError,
                                                                                   FileExistsError)) \
            or isinstance(exc, (FileNotFoundError, FileExistsError)) and exc.filename is not None:
        name = exc.filename or ""
        if name:
            name = _TEMPORARY.sub(lambda m: m.group(1) + m.group(2), os.fspath(name))
        what = _OS_ERRORS.get(exc.errno) or (exc.strerror or type(exc).__name__).lower()
        return (f"{name}: {what}" if name else what), 2
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0]), 2
    if isinstance(exc, MemoryError):
        return "out of memory; close other programs or use a smaller image", 2
    return str(exc), 2


#: Exceptions that are user mistakes or damaged inputs (printed by :func:`describe_error`).
USER_ERRORS = (CommandError, OSError, ValueError, KeyError, MemoryError)


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


def add_scheduler_argument(parser):
    """``--scheduler``: the parallel stages on Dask instead of ``--jobs`` joblib processes."""
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the parallel stages on Dask: local:N (a LocalCluster of N worker processes) or the "
                             "address of a running dask.distributed scheduler (tcp://HOST:8786; its workers need "
                             "deepcolor and read access to the data and the cache). Default: --jobs local processes")


def run_on_scheduler(args, run):
    """``run(args)`` with ``args.jobs`` set to the parallel slots of ``--scheduler`` (Dask) or ``--jobs``."""
    from deepcolor.core.parallel import scheduler_session

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    with scheduler_session(args.scheduler, args.jobs) as session:
        args.jobs = session.jobs
        return run(args)
