"""Write a lossless grayscale copy of SIFT Flow's training images for a remote parser run.

``deepcolor train-parser`` reads each image as 8-bit release luminance
(:func:`deepcolor.core.io.load_gray`) and never its colour. This script stores exactly
those 8-bit arrays as gray PNGs (lossless), so a machine that receives the copy trains on
the very arrays a run on the original JPEGs would see: every written image is read back
with ``load_gray`` and compared with the original's, and any difference stops the script.
The copy is about 60% of the JPEGs' size, which is what lets the training data travel to
a GPU machine whose transfers are size-limited.

Layout written under OUT (a data root ``deepcolor train-parser --dataset siftflow --data
OUT`` accepts): ``siftflow/images/<name>.png``, ``siftflow/labels/<name>.png`` (copied),
``siftflow/classes.txt``, and ``siftflow/train.txt`` listing the training images in the
original order (the parser's validation split, every 10th training image, is unchanged).
``--parts K`` spreads the images over ``part-1 .. part-K`` folders of ``siftflow/images``
(for separate transfers); merge them into ``images/`` before training.

Usage::

    python benchmarks/gray_siftflow_copy.py --data $DEEPCOLOR_DATA -o /tmp/sf-gray --parts 2
"""

import argparse
import os
import shutil
import sys

import numpy as np
from PIL import Image


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"), help="data root holding siftflow/")
    ap.add_argument("-o", "--output", required=True, help="new data root to write (must not exist)")
    ap.add_argument("--parts", type=int, default=1, help="spread images over this many folders")
    args = ap.parse_args(argv)

    from deepcolor.core.io import load_gray
    from deepcolor.data.datasets import siftflow

    if not args.data:
        ap.error("--data or DEEPCOLOR_DATA is required")
    if os.path.exists(args.output):
        ap.error(f"{args.output}: exists; choose a new folder")
    records = siftflow(args.data, "train", labels=True)
    base = os.path.join(args.output, "siftflow")
    os.makedirs(os.path.join(base, "labels"))
    shutil.copy(os.path.join(os.path.dirname(os.path.dirname(records[0].path)), "classes.txt"), base)
    names = []
    for i, rec in enumerate(records):
        gray = load_gray(rec.path)
        name = os.path.splitext(rec.name)[0] + ".png"
        folder = os.path.join(base, "images", f"part-{i * args.parts // len(records) + 1}" if args.parts > 1 else "")
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, name)
        Image.fromarray(gray).save(target, format="PNG", optimize=True)
        if not np.array_equal(load_gray(target), gray):
            sys.exit(f"{target}: reads back differently from {rec.path}")
        shutil.copy(rec.label_path, os.path.join(base, "labels", name))
        names.append(name)
    with open(os.path.join(base, "train.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(names) + "\n")
    with open(os.path.join(base, "test.txt"), "w", encoding="utf-8") as handle:
        handle.write("")  # evaluation happens on the original test images, never on this copy
    print(f"{len(names)} gray training images written to {base}, each read back identical")


if __name__ == "__main__":
    main()
