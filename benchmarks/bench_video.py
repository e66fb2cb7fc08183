"""Speed and memory of video colorization, whole pipeline (decode, colorize, stabilize, encode).

    python benchmarks/bench_video.py --data ROOT [--sequence dog] [--repeat 3] [--long 10]

The input is a DAVIS sequence (854x480 JPEG frames, ``ROOT/video/davis/<sequence>``)
encoded once to H.264 MP4, so decoding is part of the measured work. Each case runs
``deepcolor.pipeline.video_job.colorize_video`` into a new MP4 in a child process and
reports frames per second (median over ``--repeat`` runs, in this run on this machine)
and the child's peak resident memory. Cases: per-frame colorization (the reference),
the stabilized default, and the stabilized default on the same clip looped ``--long``
times (memory must not grow with the video's length).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)

CHILD = r"""
import json, resource, sys, time
from deepcolor.core.settings import VideoSettings
from deepcolor.pipeline import Colorizer
from deepcolor.pipeline.video_job import colorize_video
source, output, stabilize = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
colorizer = Colorizer.load()
t0 = time.perf_counter()
result = colorize_video(colorizer, source, output, settings=VideoSettings(stabilize=stabilize), force=True)
seconds = time.perf_counter() - t0
print(json.dumps({"frames": result["frames"], "seconds": seconds,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def encode_sequence(folder, path, loops):
    from deepcolor.core.video import PartWriter, folder_info, join_parts, read_frame_folder

    info = folder_info(folder, 25)
    part = path + ".part.nut"
    with PartWriter(part, info, ".mp4", crf=18) as writer:
        for _ in range(loops):
            for _, rgb in read_frame_folder(folder):
                writer.write(rgb)
    join_parts([part], path)
    os.remove(part)
    return info.frames * loops


def run_case(source, stabilize, workdir):
    out = os.path.join(workdir, "out.mp4")
    done = subprocess.run([sys.executable, "-c", CHILD, source, out, "1" if stabilize else "0"], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"), help="data root (default: $DEEPCOLOR_DATA)")
    p.add_argument("--sequence", default="dog")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--long", type=int, default=10, help="loops of the clip for the memory case")
    args = p.parse_args(argv)
    folder = os.path.join(args.data or "", "video", "davis", args.sequence)
    if not os.path.isdir(folder):
        raise SystemExit(f"{folder}: DAVIS frames not found (--data ROOT)")
    with tempfile.TemporaryDirectory() as workdir:
        short = os.path.join(workdir, "short.mp4")
        long_ = os.path.join(workdir, "long.mp4")
        n_short = encode_sequence(folder, short, 1)
        n_long = encode_sequence(folder, long_, args.long)
        results = {}
        for _ in range(args.repeat):  # interleaved, so both cases see the same machine load
            for name, stabilize in (("per-frame", False), ("stabilized", True)):
                results.setdefault(name, []).append(run_case(short, stabilize, workdir))
        results["stabilized, long"] = [run_case(long_, True, workdir)]
    print(f"{args.sequence}: 854x480, {n_short} frames (long: {n_long}); decode + colorize + encode, "
          f"medians of {args.repeat}")
    for name, runs in results.items():
        fps = np.median([r["frames"] / r["seconds"] for r in runs])
        peak = max(r["peak_mib"] for r in runs)
        print(f"  {name:18s} {fps:5.2f} frames/s   peak {peak:6.0f} MiB   ({runs[0]['frames']} frames)")
    ratio = np.median([r["frames"] / r["seconds"] for r in results["stabilized"]]) / np.median(
        [r["frames"] / r["seconds"] for r in results["per-frame"]])
    print(f"  stabilized / per-frame speed: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
