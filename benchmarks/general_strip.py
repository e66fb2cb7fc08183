"""Before/after strip on the general-photo test split, for README.

    python benchmarks/general_strip.py --data ROOT --models default,general -o strip.jpg
        [--images groom,ballplayer,kimono,macaw,red_fox,flamingo,balloon,jeep,strawberry] [--height 160]

One row per image: the gray input, each model's colorization (``--models``: shipped names
or model folders), the ground truth; each tile is labelled with its PSNR against the
ground truth (the benchmark's protocol: the release's 8-bit luminance as input, 8-bit RGB
over three channels). ``--images`` names ImageNet classes of ``general/test.txt`` (the part
after the WordNet id); the default list was fixed by category (people, animals, objects,
food) before any model was run on them, not picked by result.
"""

import argparse
import os
import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)

DEFAULT_IMAGES = "groom,ballplayer,kimono,macaw,red_fox,flamingo,balloon,jeep,strawberry"


def _pick(records, wanted):
    by_class = {os.path.splitext(os.path.basename(r.name))[0].partition("_")[2]: r for r in records}
    missing = [w for w in wanted if w not in by_class]
    if missing:
        raise SystemExit(f"general/test.txt has no image of class(es) {', '.join(missing)}")
    return [by_class[w] for w in wanted]


def _tile(rgb, height, label):
    from PIL import Image, ImageDraw

    image = Image.fromarray(rgb)
    image = image.resize((round(image.width * height / image.height), height), Image.LANCZOS)
    if label:
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, 7 * len(label) + 4, 13), fill=(0, 0, 0))
        draw.text((2, 1), label, fill=(255, 255, 255))
    return np.asarray(image)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--models", default="default")
    p.add_argument("--images", default=DEFAULT_IMAGES)
    p.add_argument("--height", type=int, default=160)
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)

    from deepcolor import Colorizer
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb, save_image
    from deepcolor.core.metrics import psnr
    from deepcolor.data import load_dataset, resolve_data_root

    records = _pick(load_dataset("general", resolve_data_root(args.data), "test"),
                    [w.strip() for w in args.images.split(",") if w.strip()])
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    colorizers = [Colorizer.load(m) for m in models]
    rows = []
    for record in records:
        truth = load_rgb(record.path)
        gray = rgb2gray(truth)
        gray_rgb = np.repeat(gray[..., None], 3, axis=2)
        scores = {"gray": psnr(truth, gray_rgb)}
        tiles = [_tile(gray_rgb, args.height, f"gray {scores['gray']:.1f}")]
        for name, colorizer in zip(models, colorizers):
            out = colorizer.colorize(gray)
            label = os.path.basename(os.path.normpath(name))
            scores[label] = psnr(truth, out)
            tiles.append(_tile(out, args.height, f"{label} {scores[label]:.1f}"))
        tiles.append(_tile(truth, args.height, "truth"))
        rows.append(np.concatenate(tiles, axis=1))
        print(record.name, " ".join(f"{k} {v:.2f} dB" for k, v in scores.items()), flush=True)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    save_image(args.output, np.concatenate(rows, axis=0), overwrite=True)
    print(f"wrote {args.output}: rows {', '.join(r.name for r in records)}; columns gray, {', '.join(models)}, truth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
