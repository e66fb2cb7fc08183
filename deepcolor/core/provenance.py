"""Where a result came from: the git commit of the code and digests of files."""

import hashlib
import os
import subprocess


def git_commit(path=None):
    """The commit checked out at ``path`` (default: this package's checkout), or None outside git."""
    path = path or os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", os.fspath(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def sha256_file(path):
    """SHA-256 hex digest of a file's contents."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_identity(path):
    """A short hash of a file, or of a folder's files (relative names and contents); "" for None."""
    if path is None:
        return ""
    path = os.fspath(path)
    digest = hashlib.sha1()
    if os.path.isdir(path):
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
    else:
        files = [path]
    for f in files:
        digest.update(os.path.relpath(f, path).encode())
        with open(f, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]
