"""A strip of frames before and after colorization, for README.

    python benchmarks/film_strip.py INPUT.mp4 COLORIZED.mp4 -o strip.jpg [--frames 20,90,200,320] [--height 200]

Top row: the input's frames; bottom row: the same frames of the colorized video.
"""

import argparse
import sys

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("colorized")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--frames", default="20,90,200,320")
    p.add_argument("--height", type=int, default=200)
    args = p.parse_args(argv)

    from PIL import Image

    from deepcolor.core.io import save_image
    from deepcolor.core.video import read_frames

    wanted = [int(f) for f in args.frames.split(",")]
    rows = []
    for path in (args.input, args.colorized):
        picked = {i: rgb for i, rgb in read_frames(path) if i in wanted}
        missing = [f for f in wanted if f not in picked]
        if missing:
            raise SystemExit(f"{path}: no frame(s) {missing}")
        tiles = []
        for f in wanted:
            image = Image.fromarray(picked[f])
            width = round(image.width * args.height / image.height)
            tiles.append(np.asarray(image.resize((width, args.height), Image.LANCZOS)))
        rows.append(np.concatenate(tiles, axis=1))
    save_image(args.output, np.concatenate(rows, axis=0), overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
