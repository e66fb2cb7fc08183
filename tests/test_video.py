"""Video colorization: files in and out (frames, fps, size, audio), shots, stability, resume, errors."""

import os

import numpy as np
import pytest

av = pytest.importorskip("av", reason="video needs PyAV (pip install av)")

from deepcolor.cli import main  # noqa: E402
from deepcolor.core import video as V  # noqa: E402
from deepcolor.core.color import chroma_of, rgb2gray  # noqa: E402

CUT = 14


def scene(i, w=96, h=64):
    """Frame ``i`` of a generated video: a red square moving over blue sky, then (from ``CUT``) a cut to a
    still yellow block on green."""
    img = np.zeros((h, w, 3), np.uint8)
    yy, xx = np.mgrid[:h, :w]
    if i < CUT:
        img[:] = (40, 90, 170)
        img[..., 2] = np.clip(150 + yy, 0, 255)
        img[20:40, 5 + 2 * i:25 + 2 * i] = (220, 40, 40)
    else:
        img[:] = (40, 140, 40)
        img[..., 1] = np.clip(120 + xx // 2, 0, 255)
        img[10:50, 40:60] = (250, 250, 0)
    return img


def make_video(path, n=30, fps=25, audio=True, options=None, noise=0):
    """Write the generated scene (``n`` frames) with a 440 Hz tone as its sound (and film grain of
    amplitude ``noise``, which spreads the bytes evenly over the frames)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options or {}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        sound = out.add_stream("aac", rate=44100) if audio else None
        for i in range(n):
            image = scene(i)
            if noise:
                image = np.clip(image + rng.integers(-noise, noise + 1, image.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            t = np.arange(int(44100 * n / fps)) / 44100
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for k in range(0, tone.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, k:k + 1024]), format="fltp",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = 44100, k
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return str(path)


def frames_of(path):
    return [rgb for _, rgb in V.read_frames(path)]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("video") / "scene.mp4")


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".webm", ".avi", ".mov"])
def test_round_trip_keeps_frames_fps_size_audio_and_luminance(source, tmp_path, ext, capsys):
    out = str(tmp_path / f"color{ext}")
    assert main(["colorize", source, "-o", out, "--quiet"]) == 0
    assert "2 shot(s)" in capsys.readouterr().err
    info, original = V.probe(out), V.probe(source)
    assert (info.width, info.height, info.fps) == (96, 64, 25) and info.audio is not None
    frames = frames_of(out)
    assert len(frames) == 30
    with av.open(out) as container:  # the sound lasts as long as the picture
        audio = container.streams.audio[0]
        seconds = sum(float(p.duration * audio.time_base) for p in container.demux(audio) if p.duration)
    assert abs(seconds - 30 / 25) < 0.1
    gray_in = np.stack([rgb2gray(f) for f in frames_of(source)]).astype(float)
    gray_out = np.stack([rgb2gray(f) for f in frames]).astype(float)
    assert np.abs(gray_out - gray_in).mean() < 3  # the luminance is the input's, up to video coding
    assert original.frames == 30
    assert np.abs(np.stack([chroma_of(f) for f in frames])).mean() > 0.005  # colorized, not gray


def test_cut_starts_a_shot_and_stabilization_keeps_colors_still(source):
    from deepcolor.core.flow import backward_flow_and_mask
    from deepcolor.core.metrics import chroma_warping_error
    from deepcolor.core.settings import VideoSettings
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.video import VideoColorizer

    grays = [rgb2gray(scene(i)) for i in range(30)]
    colorizer = Colorizer.load()
    stable = VideoColorizer(colorizer)
    outputs = [stable.colorize_frame(g) for g in grays]
    assert stable.shots == [0, CUT]
    per_frame = list(colorizer.colorize_video(grays, VideoSettings(stabilize=False)))
    for t in (0, CUT):  # the first frame of a shot is colorized as a photo
        assert np.array_equal(outputs[t], per_frame[t])
    assert not np.array_equal(outputs[5], per_frame[5])  # later frames of a moving shot carry chroma along
    flows = {t: backward_flow_and_mask(grays[t], grays[t - 1]) for t in range(1, 30) if t != CUT}

    def error(frames):
        return np.nanmean([chroma_warping_error(frames[t], frames[t - 1], *flows[t]) for t in flows])

    assert error(outputs) < error(per_frame)


def test_state_round_trip_continues_identically(source):
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.video import VideoColorizer

    grays = [rgb2gray(scene(i)) for i in range(10)]
    colorizer = Colorizer.load()
    whole = VideoColorizer(colorizer)
    expected = [whole.colorize_frame(g) for g in grays]
    first = VideoColorizer(colorizer)
    [first.colorize_frame(g) for g in grays[:5]]
    second = VideoColorizer(colorizer)
    second.load_state_arrays({k: np.array(v) for k, v in first.state_arrays().items()})
    for g, e in zip(grays[5:], expected[5:]):
        assert np.array_equal(second.colorize_frame(g), e)


def test_resume_after_a_kill_gives_the_uninterrupted_output(source, tmp_path):
    from deepcolor.core.settings import VideoSettings
    from deepcolor.pipeline import Colorizer
    from deepcolor.pipeline.video_job import colorize_video, parts_folder

    colorizer = Colorizer.load()
    settings = VideoSettings(chunk=8)
    whole = str(tmp_path / "whole.mp4")
    colorize_video(colorizer, source, whole, settings=settings)
    killed = str(tmp_path / "killed.mp4")
    seen = []

    def kill_at_frame_20(done, total):
        seen.append(done)
        if done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(colorizer, source, killed, settings=settings, progress=kill_at_frame_20)
    assert not os.path.exists(killed)
    parts = sorted(os.listdir(parts_folder(killed)))
    assert [p for p in parts if p.startswith("part_")] == ["part_00000.nut", "part_00001.nut"]
    assert not [p for p in parts if ".tmp-" in p]  # the unfinished third part was removed
    with pytest.raises(FileExistsError, match="--resume"):
        colorize_video(colorizer, source, killed, settings=settings)
    with pytest.raises(ValueError, match="another input, model or settings"):
        colorize_video(colorizer, source, killed, settings=VideoSettings(chunk=8, carry=0.5), resume=True)
    done = []
    result = colorize_video(colorizer, source, killed, settings=settings, resume=True,
                            progress=lambda n, total: done.append(n))
    assert result["resumed_from"] == 16 and done[0] == 16 and result["shots"] == [0, CUT]
    assert not os.path.exists(parts_folder(killed))
    for a, b in zip(frames_of(whole), frames_of(killed), strict=True):
        assert np.array_equal(a, b)


def test_truncated_video_is_named_and_its_frames_delivered(tmp_path, capsys):
    path = make_video(tmp_path / "long.mp4", n=90, audio=False, options={"movflags": "faststart"}, noise=20)
    data = open(path, "rb").read()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[:int(len(data) * 0.6)])
    out = tmp_path / "out.mp4"
    assert main(["colorize", str(truncated), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "truncated.mp4: truncated" in err and "Traceback" not in err
    delivered = len(frames_of(str(out)))
    assert 0 < delivered < 90 and f"the {delivered} frame(s) before it were colorized" in err
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    assert main(["colorize", str(garbage), "-o", str(tmp_path / "g.mp4"), "--quiet"]) == 2
    assert "garbage.mp4: not a readable video" in capsys.readouterr().err


def test_frames_folder_in_and_out(source, tmp_path, capsys):
    frames = tmp_path / "frames"
    assert main(["colorize", source, "-o", str(frames), "--quiet"]) == 0
    names = sorted(os.listdir(frames))
    assert len(names) == 30 and names[0] == "00000.png"
    out = tmp_path / "from_frames.mkv"
    assert main(["colorize", str(frames), "-o", str(out), "--fps", "12", "--quiet"]) == 0
    info = V.probe(str(out))
    assert info.fps == 12 and len(frames_of(str(out))) == 30 and info.audio is None
    # without --video or a video output, a folder is a batch of photos
    batch = tmp_path / "batch"
    assert main(["colorize", str(frames), "-o", str(batch), "--quiet"]) == 0
    assert len(os.listdir(batch)) == 30


def test_video_user_errors(source, tmp_path, capsys):
    out = tmp_path / "x.mp4"
    out.write_bytes(b"keep")
    assert main(["colorize", source, "-o", str(out), "--quiet"]) == 2
    assert "exists (use --force" in capsys.readouterr().err and out.read_bytes() == b"keep"
    assert main(["colorize", source, "-o", str(tmp_path / "x.png")]) == 2
    assert "not one image" in capsys.readouterr().err
    assert main(["colorize", source, source, "-o", str(tmp_path / "y")]) == 2
    assert "one video at a time" in capsys.readouterr().err
    assert main(["colorize", source, "-o", str(tmp_path / "x.xyz")]) == 2
    assert "unknown video extension" in capsys.readouterr().err
    assert main(["colorize", source, "-o", str(out), "--force", "--quiet"]) == 0
    assert len(frames_of(str(out))) == 30


def test_video_benchmark_and_report_section(source, tmp_path, capsys):
    import csv
    import json
    import shutil

    from deepcolor.core.io import save_image

    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copyfile(source, clips / "scene.mp4")
    frames = clips / "still"  # a folder of frames is a sequence too
    frames.mkdir()
    for i in range(6):
        save_image(str(frames / f"{i}.png"), scene(CUT + 1))
    run = tmp_path / "run"
    assert main(["benchmark", "--dataset", "video", "--folder", str(clips), "-o", str(run), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "deepcolor-video" in table and "x GT" in table
    rows = list(csv.DictReader(open(run / "per_sequence.csv")))
    assert [(r["sequence"], r["method"]) for r in rows][:3] == [("scene", "gray"), ("scene", "deepcolor"),
                                                                ("scene", "deepcolor-video")]
    by = {(r["sequence"], r["method"]): r for r in rows}
    assert int(by[("scene", "gray")]["frames"]) == 30 and int(by[("still", "gray")]["frames"]) == 6
    assert float(by[("scene", "gray")]["warp_error"]) < 1e-12  # gray has no chroma to flicker
    assert float(by[("scene", "deepcolor-video")]["warp_error"]) <= float(by[("scene", "deepcolor")]["warp_error"])
    from deepcolor.evaluation.video_benchmark import evaluate_sequence
    from deepcolor.pipeline import Colorizer

    video_row = evaluate_sequence("scene", str(clips / "scene.mp4"), ["deepcolor-video"], Colorizer.load())[0]
    assert video_row["shots"] == [0, CUT]
    summary = json.load(open(run / "summary.json"))
    assert set(summary["methods"]) == {"gray", "deepcolor", "deepcolor-video"}
    assert (run / "strips" / "scene.jpg").exists()
    assert main(["benchmark", "--dataset", "video", "--folder", str(clips), "-o", str(run), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["benchmark", "--dataset", "video", "--folder", str(clips), "-o", str(run), "--method", "nope"]) == 2
    assert "unknown video method" in capsys.readouterr().err

    images = tmp_path / "images"
    images.mkdir()
    save_image(str(images / "a.png"), scene(3))
    report = tmp_path / "report"
    assert main(["report", "-o", str(report), "--datasets", "folder", "--folder", str(images), "--methods", "gray",
                 "--no-runtime", "--no-figures", "--video", str(clips), "--quiet", "--resamples", "10"]) == 0
    text = (report / "report.md").read_text()
    assert "## Video" in text and "deepcolor-video" in text and "video_strips/scene.jpg" in text
    assert (report / "video_strips" / "still.jpg").exists()
