"""Writing files safely: atomically, with ordinary permissions, leaving nothing behind.

Every file deepcolor writes (images, networks, parsers, JSON, cached features) goes
through :func:`atomic_write`: the data is written to a hidden temporary name beside the
target (``.NAME.tmp-PID``) and renamed over it only when complete, so an interrupted
write never leaves a half file under the target's name. The temporary file is removed
when the write fails or is interrupted (Ctrl-C, or SIGTERM, which the command line turns
into an exception); one left by a killed process (SIGKILL, power loss) is removed by the
next write of the same target (:func:`remove_stale_temporaries`). The finished file gets
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


def remove_stale_temporaries(path):
    """Remove temporary files of ``path`` left by processes that no longer run; returns their count."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    return remove_stale_temporaries_in(directory, {name})


def remove_stale_temporaries_in(directory, names):
    """Remove the temporary files of the files ``names`` in ``directory`` whose writers no
    longer run (a batch calls it once per output folder before it starts); returns their count."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        match = _TEMP.match(entry)
        if match and match.group("name") in names and not _alive(int(match.group("pid"))):
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
    remove_stale_temporaries(path)
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
