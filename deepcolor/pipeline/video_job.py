"""One video colorized into a file or a folder of frames: resumable, never overwriting.

The frames are colorized in order by :class:`deepcolor.pipeline.video.VideoColorizer`
and written in chunks of ``VideoSettings.chunk`` frames. Beside the output, a hidden
folder ``.NAME.parts/`` holds ``job.json`` (what is being made: input, model, settings),
one encoded part per finished chunk (``part_00000.nut`` ...; for a folder output the
frames go straight into the folder) and the colorizer's state after it
(``state_00000.npz``). A killed run leaves these behind; ``resume=True`` checks that
``job.json`` describes the same job, restores the state after the last finished chunk,
decodes and drops the frames before it, and goes on: no frame is colorized twice, and
the output equals an uninterrupted run's. When every frame is done the parts are joined
(no re-encoding), the input's audio is copied in, the output is renamed into place and
the folder is removed.

A damaged or truncated input stops the run after its last readable frame; the frames
before it are still delivered (joined into the output), then the error is raised.
"""

import json
import os
import shutil
import time

import numpy as np

from deepcolor.core.files import atomic_write, write_text
from deepcolor.core.settings import VideoSettings
from deepcolor.core.video import (VideoError, folder_info, is_video_file, join_parts, probe, read_frame_folder,
                                  read_frames)

JOB_FILE = "job.json"


def parts_folder(output):
    """The hidden folder of an output's parts: ``DIR/.NAME.parts``."""
    directory, name = os.path.split(os.path.abspath(os.fspath(output)))
    return os.path.join(directory, f".{name}.parts")


def _job_description(source, output, info, colorizer, settings):
    stat = os.stat(source)
    return {
        "source": os.path.abspath(source), "source_size": stat.st_size if os.path.isfile(source) else None,
        "source_mtime": int(stat.st_mtime), "output": os.path.abspath(output), "video": info.to_json(),
        "model": colorizer.model_dir, "colorize": colorizer.settings.to_json(),
        "stabilize": settings.to_json(),
    }


def _finished_chunks(folder, to_folder):
    done = 0
    while os.path.exists(os.path.join(folder, f"state_{done:05d}.npz")) and (
            to_folder or os.path.exists(os.path.join(folder, f"part_{done:05d}.nut"))):
        done += 1
    return done


def colorize_video(colorizer, source, output, *, settings=None, fps=25, resume=False, force=False,
                   progress=None, log=None):
    """Colorize the video (or folder of numbered frames) ``source`` into ``output``.

    Parameters
    ----------
    colorizer : :class:`deepcolor.pipeline.Colorizer`
    source : str, a video file (:data:`deepcolor.core.video.VIDEO_EXTENSIONS`) or a folder of frames
    output : str, a video file (by its extension) or a folder that receives ``00000.png`` ...
    settings : :class:`VideoSettings`
    fps : float, frame rate of a folder of frames (a video file keeps its own)
    resume : bool, continue the parts an interrupted run left beside ``output``
    force : bool, replace an existing output and discard earlier parts
    progress : callable(frames done, frames in all or 0), optional
    log : callable(str), optional, for messages (resume point, shots)

    Returns
    -------
    dict: ``frames``, ``shots`` (first frame of each), ``seconds``, ``resumed_from``

    Raises
    ------
    FileExistsError
        ``output`` exists, or parts of another run are there, and neither ``force`` nor ``resume``.
    VideoError
        The input is unreadable; or damaged after some frame, once those frames are written.
    """
    settings = settings or VideoSettings()
    say = log or (lambda message: None)
    source, output = os.fspath(source), os.fspath(output)
    to_folder = not is_video_file(output)
    info = probe(source) if os.path.isfile(source) else folder_info(source, fps)
    folder = parts_folder(output)
    job = _job_description(source, output, info, colorizer, settings)
    if os.path.exists(output) and not force and not (to_folder and resume):
        raise FileExistsError(f"{output}: exists (use --force to replace it)")
    done = 0
    if os.path.isdir(folder):
        if resume:
            try:
                with open(os.path.join(folder, JOB_FILE), encoding="utf-8") as handle:
                    earlier = json.load(handle)
            except (OSError, ValueError):
                earlier = None
            if earlier != job:
                raise ValueError(f"{folder}: these parts were made from another input, model or settings "
                                 "(or the input changed); use --force to start over")
            done = _finished_chunks(folder, to_folder)
        elif force:
            shutil.rmtree(folder)
        else:
            raise FileExistsError(f"{folder}: an interrupted run left its parts here; use --resume to continue "
                                  "it or --force to start over")
    elif resume:
        say(f"nothing to resume for {output}: starting from the first frame")
    os.makedirs(folder, exist_ok=True)
    write_text(os.path.join(folder, JOB_FILE), json.dumps(job, indent=1) + "\n")
    if to_folder:
        os.makedirs(output, exist_ok=True)

    from deepcolor.pipeline.video import VideoColorizer

    stabilizer = VideoColorizer(colorizer, settings)
    start = done * settings.chunk
    if done:
        with np.load(os.path.join(folder, f"state_{done - 1:05d}.npz"), allow_pickle=False) as state:
            stabilizer.load_state_arrays(dict(state))
        say(f"resuming {output} after frame {start} ({done} part(s) done)")
    frames = read_frames(source, start) if os.path.isfile(source) else read_frame_folder(source, start)
    t0 = time.perf_counter()
    failure = None
    writer = None
    chunk = done
    count = start
    if progress:
        progress(count, info.frames)
    try:
        for index, rgb in frames:
            if writer is None and not to_folder:
                writer = _open_part(folder, chunk, info, output, settings)
            colored = stabilizer.colorize_frame(rgb)
            if to_folder:
                from deepcolor.core.io import save_image

                save_image(os.path.join(output, f"{index:05d}.png"), colored, overwrite=True)
            else:
                writer.write(colored)
            count = index + 1
            if count % settings.chunk == 0:
                chunk = _finish_chunk(folder, chunk, writer, stabilizer)
                writer = None
            if progress:
                progress(count, info.frames)
    except VideoError as exc:  # deliver what decoded, then report it
        failure = exc
    except BaseException:  # Ctrl-C, a kill turned into an exception, a bug: the chunk is not finished
        if writer is not None:
            writer.abandon()
        raise
    if count % settings.chunk:  # the last, shorter chunk
        chunk = _finish_chunk(folder, chunk, writer, stabilizer)
    if count == 0:
        raise failure or VideoError(source, "has no frames")
    if not to_folder:
        parts = [os.path.join(folder, f"part_{k:05d}.nut") for k in range(chunk)]
        with atomic_write(output, os.path.splitext(output)[1]) as tmp:
            join_parts(parts, tmp, audio_source=source if os.path.isfile(source) else None,
                       duration=count / info.fps)
    shutil.rmtree(folder)
    result = {"frames": count, "shots": stabilizer.shots, "seconds": time.perf_counter() - t0,
              "resumed_from": start}
    if failure is not None:
        raise VideoError(failure.path, f"{failure.reason}; the {count} frame(s) before it were colorized into "
                         f"{output}")
    return result


class _Part:
    """A chunk's encoded part, written under a temporary name and renamed once complete."""

    def __init__(self, path, info, output, settings):
        from deepcolor.core.files import temporary_name
        from deepcolor.core.video import PartWriter

        self.path = path
        self.tmp = temporary_name(path)
        self.writer = PartWriter(self.tmp, info, os.path.splitext(output)[1], crf=settings.crf)

    @property
    def frames(self):
        return self.writer.frames

    def write(self, rgb):
        self.writer.write(rgb)

    def finish(self):
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abandon(self):
        self.writer.close()
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def _open_part(folder, chunk, info, output, settings):
    return _Part(os.path.join(folder, f"part_{chunk:05d}.nut"), info, output, settings)


def _finish_chunk(folder, chunk, writer, stabilizer):
    """Close chunk ``chunk``'s part, then save the state after it (the state marks it finished)."""
    if writer is not None:
        writer.finish()
    with atomic_write(os.path.join(folder, f"state_{chunk:05d}.npz"), ".npz") as tmp:
        np.savez(tmp, **stabilizer.state_arrays())
    return chunk + 1
