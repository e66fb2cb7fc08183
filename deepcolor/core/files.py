"""Writing files safely: atomically, with ordinary permissions, leaving nothing behind.

Every file deepcolor writes (images, networks, parsers, JSON, cached features) goes
through :func:`atomic_write`: the data is written to a hidden temporary name beside the
target (``.NAME.tmp-PID``) and renamed over it only when complete, so an interrupted
write never leaves a half file under the target's name. The temporary file is removed
when the write fails or is interrupted (Ctrl-C, or SIGTERM, which the command line turns
into an exception); those left by a killed process (SIGKILL, power loss) are removed once
per folder when the next run starts (:func:`remove_stale_temporaries_in`: ``colorize`` for its
output folders, ``train`` for the model directory), not at every write, which would list
the folder again for every image of a batch. The finished file gets
the permissions of any new file (``0666`` less the umask), not the ``0600`` of a
temporary file.
"""

import contextlib
import os
import re

_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?P<suffix>\.[\w]+)?$")


def umask_mode():
    """The permission bits a new file gets: ``0o666`` less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temporary_name(path, suffix=""):
    """The hidden temporary name of ``path`` for this process: ``DIR/.NAME.tmp-PID[suffix]``."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}{suffix}")


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries_in(directory, names=None):
    """Remove the temporary files in ``directory`` (of the targets ``names``, or of any target)
    whose writers no longer run; a run calls it once per folder before it starts. Returns the count."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        match = _TEMP.match(entry)
        if match and (names is None or match.group("name") in names) and not _alive(int(match.group("pid"))):
            try:
                os.remove(os.path.join(directory, entry))
                removed += 1
            except OSError:
                pass
    return removed


@contextlib.contextmanager
def atomic_write(path, suffix=""):
    """Context manager yielding a temporary path to write; renamed to ``path`` on success.

    Parameters
    ----------
    path : str or path-like
        The target. Its folder is created when missing.
    suffix : str
        Appended to the temporary name, for writers that insist on an extension
        (``numpy.savez`` adds ``.npz``).
    """
    path = os.path.abspath(os.fspath(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = temporary_name(path, suffix)
    try:
        yield tmp
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
