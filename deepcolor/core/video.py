"""Reading and writing videos, and folders of numbered frames.

Videos go through PyAV (the ``av`` package), the Python binding of FFmpeg whose wheels
ship FFmpeg itself (libx264, libvpx, AAC, Opus): frames come out and go in as numpy
arrays in the same process, no ``ffmpeg`` binary has to be found on the machine, and the
audio packets of the input can be copied into the output untouched.

The colorized video is written in parts (one file per chunk of frames, so that a killed
run can continue from the last finished part) and :func:`join_parts` concatenates their
packets without re-encoding, then copies the input's audio beside them.

Formats (by the output's extension):

=====================  ===========================  ==================================
extension              video codec                  audio
=====================  ===========================  ==================================
.mp4 .m4v .mov .mkv    H.264 (libx264, CRF)         copied (AAC, MP3, ...), or AAC
.avi                   H.264 (libx264, CRF)         copied, or AAC
.webm                  VP9 (libvpx-vp9, CRF)        copied when Opus, else Opus
=====================  ===========================  ==================================

4:2:0 chroma needs an even width and height; an odd-sized video is written 4:4:4 so
that it keeps its exact size.
"""

import fractions
import os
import re

import numpy as np

from deepcolor.core.io import ImageReadError, is_image_file, load_rgb

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")

_CODECS = {".webm": ("libvpx-vp9", ("opus",), "libopus")}
_DEFAULT_CODEC = ("libx264", ("aac", "mp3", "ac3", "eac3", "alac", "opus"), "aac")
_AUDIO_COPY_EXTRA = {".mkv": ("flac", "vorbis", "pcm_s16le", "pcm_s24le"), ".mov": ("pcm_s16le", "pcm_s24le"),
                     ".avi": ("pcm_s16le",)}


class VideoError(ValueError):
    """A video (or folder of frames) that cannot be read or written: names the file and the problem."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def is_video_file(path):
    """Whether ``path`` has a video extension (:data:`VIDEO_EXTENSIONS`)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


class VideoInfo:
    """What a video is: ``width``, ``height``, ``fps`` (Fraction), ``frames`` (0 when the
    container does not say), ``audio`` (codec name or None) and ``path``."""

    def __init__(self, path, width, height, fps, frames, audio):
        self.path, self.width, self.height, self.fps, self.frames, self.audio = path, width, height, fps, frames, \
            audio

    def to_json(self):
        return {"width": self.width, "height": self.height, "fps": str(self.fps), "frames": self.frames,
                "audio": self.audio}

    def __repr__(self):
        return (f"VideoInfo({self.width}x{self.height}, {float(self.fps):.3f} fps, {self.frames} frames, "
                f"audio {self.audio})")


def _open(path):
    import av

    if os.path.isdir(path):
        raise VideoError(path, "is a folder, not a video file")
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    try:
        container = av.open(os.fspath(path))
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"not a readable video ({exc.strerror or exc}); the file may be truncated or "
                         "not a video") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "has no video stream")
    return container


def probe(path):
    """The :class:`VideoInfo` of a video file.

    Raises
    ------
    VideoError
        Not a video, no video stream, or unreadable (a truncated MP4 whose index is lost).
    """
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate or fractions.Fraction(25)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoError(path, "the video stream has no frame size; the file may be damaged")
        return VideoInfo(os.fspath(path), width, height, fractions.Fraction(fps), int(stream.frames or 0), audio)


def read_frames(path, start=0):
    """Yield ``(index, rgb)`` for every frame of the video at ``path`` from frame ``start`` on.

    Frames before ``start`` are decoded and dropped (a resumed run skips the frames it
    has done). ``rgb`` is (H, W, 3) uint8.

    Raises
    ------
    VideoError
        After the last frame that decoded, when the file is damaged or truncated (a decode
        error, or fewer frames than the container declares): every earlier frame has
        been yielded.
    """
    path = os.fspath(path)
    return _read_frames(path, start)


def _read_frames(path, start):
    import av

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = int(stream.frames or 0)
        if not declared and container.duration and stream.average_rate:
            # Matroska and WebM state their duration, not their frame count
            declared = int(container.duration / 1e6 * float(stream.average_rate) + 0.5)
        index = -1
        failure = None

        def decoded(packet):
            nonlocal index
            for frame in stream.codec_context.decode(packet):
                index += 1
                if index >= start:
                    yield index, frame.to_ndarray(format="rgb24")

        try:
            for packet in container.demux(stream):
                if packet.size:
                    yield from decoded(packet)
        except av.error.FFmpegError as exc:
            failure = exc
        try:  # the frames still inside the decoder (frame threads hold several)
            yield from decoded(None)
        except av.error.FFmpegError as exc:
            failure = failure or exc
        if failure is not None:
            raise VideoError(path, f"damaged or truncated after frame {index + 1} "
                             f"({failure.strerror or failure}); the frames before it were read") from None
        # AVI's header counts one frame more than it holds at times, and a duration rounds:
        # a missing frame beyond that is a truncation
        if declared and index + 1 < declared - 1:
            raise VideoError(path, f"truncated: {index + 1} of the {declared} frames its header declares could be "
                             "decoded")


_NUMBER = re.compile(r"(\d+)")


def frame_files(folder):
    """The image files of a folder of numbered frames, in numeric order (``2.png`` before ``10.png``)."""
    if not os.path.isdir(folder):
        raise VideoError(folder, "is not a folder of frames")
    names = [n for n in os.listdir(folder) if is_image_file(n) and not n.startswith(".")]
    if not names:
        raise VideoError(folder, "no image files in this folder of frames")

    def key(name):
        return [int(p) if p.isdigit() else p for p in _NUMBER.split(name)]

    return [os.path.join(folder, n) for n in sorted(names, key=key)]


def read_frame_folder(folder, start=0):
    """Yield ``(index, rgb)`` for the frames of a folder (see :func:`frame_files`), checking that
    every frame has the first one's size."""
    files = frame_files(folder)
    size = None
    for index, path in enumerate(files):
        if index < start and size is not None:
            continue
        rgb = load_rgb(path)
        if size is None:
            size = rgb.shape
        elif rgb.shape != size:
            raise ImageReadError(path, f"is {rgb.shape[1]}x{rgb.shape[0]}, but the first frame of {folder} is "
                                 f"{size[1]}x{size[0]}; the frames of a video must have one size")
        if index >= start:
            yield index, rgb


def folder_info(folder, fps):
    """A :class:`VideoInfo` for a folder of frames at ``fps`` frames per second (no audio)."""
    files = frame_files(folder)
    first = load_rgb(files[0])
    return VideoInfo(os.fspath(folder), first.shape[1], first.shape[0], fractions.Fraction(fps).limit_denominator(
        1001), len(files), None)


def _codec(ext):
    return _CODECS.get(ext, _DEFAULT_CODEC)


class PartWriter:
    """Encode RGB frames ((H, W, 3) uint8) one at a time into a new video file ``path``.

    The codec is the one for the final output's extension ``output_ext``; the part
    itself is an FFmpeg NUT file, which keeps every timestamp (Matroska, for one, drops
    the decoding timestamps of B-frames, and its packets could not be joined again).
    Use as a context manager, or call :meth:`close`; ``frames`` counts what was written.
    """

    def __init__(self, path, info, output_ext, *, crf=18):
        import av

        codec = _codec(output_ext.lower())[0]
        self.path, self.frames = os.fspath(path), 0
        self._container = av.open(self.path, "w", format="nut")
        stream = self._container.add_stream(codec, rate=info.fps)
        stream.width, stream.height = info.width, info.height
        even = info.width % 2 == 0 and info.height % 2 == 0
        stream.pix_fmt = "yuv420p" if even else "yuv444p"
        # no B-frames: every packet then carries its decoding time, so the parts can be joined
        stream.options = {"crf": str(crf), "bf": "0"} if codec == "libx264" else {
            "crf": str(min(63, crf + 14)), "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
        stream.time_base = fractions.Fraction(1, 1) / info.fps
        self._stream = stream

    def write(self, rgb):
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self):
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _format_of(ext):
    return {".mkv": "matroska", ".m4v": "mp4"}.get(ext, ext.lstrip("."))


def _audio_copyable(ext, codec_name):
    allowed = _codec(ext)[1] + _AUDIO_COPY_EXTRA.get(ext, ())
    return codec_name in allowed


def join_parts(parts, output, audio_source=None, duration=None):
    """Concatenate the video packets of ``parts`` (files from :class:`PartWriter`) into ``output``.

    No re-encoding: each part starts with a key frame, and the parts' timestamps are
    shifted to follow each other. When ``audio_source`` is a video file with an audio
    stream, its audio is copied in (transcoded to the container's audio codec when it
    cannot be copied), up to ``duration`` seconds (the video's length), so the output
    keeps the input's sound.
    """
    import av

    ext = os.path.splitext(output)[1].lower()
    with av.open(os.fspath(output), "w", format=_format_of(ext)) as out:
        if not parts:
            raise ValueError(f"{output}: no frames to write")
        with av.open(os.fspath(parts[0])) as first:
            template = first.streams.video[0]
            vout = out.add_stream_from_template(template)
            # one tick per frame where the container counts frames by ticks (AVI)
            vout.time_base = 1 / template.average_rate if template.average_rate else template.time_base
        audio_in = av.open(os.fspath(audio_source)) if audio_source and is_video_file(audio_source) else None
        try:
            ain = audio_in.streams.audio[0] if audio_in is not None and audio_in.streams.audio else None
            aout, transcode = None, False
            if ain is not None:
                if _audio_copyable(ext, ain.codec_context.name):
                    aout = out.add_stream_from_template(ain)
                else:
                    codec = _codec(ext)[2]
                    # Opus encodes at 48 kHz only; PyAV resamples and re-frames what it is given
                    rate = 48000 if codec == "libopus" else (ain.codec_context.sample_rate or 48000)
                    aout = out.add_stream(codec, rate=rate)
                    transcode = True
            offset = 0
            for part in parts:
                with av.open(os.fspath(part)) as container:
                    stream = container.streams.video[0]
                    last = offset
                    for packet in container.demux(stream):
                        if packet.size == 0:  # the demuxer's end-of-stream marker
                            continue
                        # Matroska leaves the dts of B-frame streams unset: only shift what is there
                        if packet.pts is not None:
                            packet.pts += offset
                            last = max(last, packet.pts + (packet.duration or 0))
                        if packet.dts is not None:
                            packet.dts += offset
                        packet.stream = vout
                        out.mux(packet)
                    offset = last
            if ain is not None:
                _copy_audio(audio_in, ain, out, aout, transcode, duration)
        finally:
            if audio_in is not None:
                audio_in.close()


def _copy_audio(container, ain, out, aout, transcode, duration):
    end = None if duration is None or ain.time_base is None else float(duration) / float(ain.time_base)
    start = ain.start_time or 0
    if not transcode:
        for packet in container.demux(ain):
            if packet.size == 0:
                continue
            if end is not None and packet.pts is not None and packet.pts - start >= end:
                break
            packet.stream = aout
            out.mux(packet)
        return
    for frame in container.decode(ain):
        if end is not None and frame.pts is not None and frame.pts - start >= end:
            break
        frame.pts = None
        for packet in aout.encode(frame):
            out.mux(packet)
    for packet in aout.encode(None):
        out.mux(packet)
