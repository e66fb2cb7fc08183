"""Video datasets: sequences of ground-truth color frames for the video benchmark.

Layouts::

    ROOT/video/davis/<sequence>/00000.jpg ...   DAVIS-2016, 10 sequences, 854x480 (``davis``)
    DIR/<sequence>/<numbered frames>            any folder of frame folders (``video --folder DIR``)
    DIR/<name>.mp4 (.mkv, .mov, ...)            or of color video files, one sequence each
"""

import os

from deepcolor.core.io import is_image_file
from deepcolor.core.video import is_video_file
from deepcolor.data.datasets import DatasetError

VIDEO_DATASETS = ("davis", "video")


def _sequences_in(folder):
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path) and any(is_image_file(n) for n in os.listdir(path)):
            found.append((name, path))
        elif os.path.isfile(path) and is_video_file(path):
            found.append((os.path.splitext(name)[0], path))
    return found


def video_sequences(name, root=None, folder=None):
    """``[(sequence name, frames folder or video file)]`` of a video dataset, sorted by name.

    ``davis`` reads ``ROOT/video/davis``; ``video`` reads ``folder``.

    Raises
    ------
    DatasetError
        Unknown dataset, missing folder, or no sequence in it.
    """
    if name == "video":
        if not folder:
            raise DatasetError("dataset 'video' needs a folder of sequences (--folder DIR)")
        where = folder
    elif name == "davis":
        if root is None:
            raise DatasetError("dataset 'davis' needs the data root (--data PATH or DEEPCOLOR_DATA)")
        where = os.path.join(root, "video", "davis")
    else:
        raise DatasetError(f"unknown video dataset {name!r}; choose one of {', '.join(VIDEO_DATASETS)}")
    if not os.path.isdir(where):
        raise DatasetError(f"{where}: folder not found")
    found = _sequences_in(where)
    if not found:
        raise DatasetError(f"{where}: no sequences (sub-folders of frames, or video files)")
    return found
