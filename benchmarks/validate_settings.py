"""Choose colorization settings (blend, lookup layers, refinement) on held-out reference images.

The test sets must not pick settings, so this script holds out part of the default
reference set (every 8th SIFT Flow train image, every 4th SUN extra image), a model is
trained on the rest, and the settings are compared on the held-out images.

Usage::

    python benchmarks/validate_settings.py split --data ROOT -o VALROOT
    deepcolor train --clusters 24 --data VALROOT -o VALMODEL --jobs 2
    python benchmarks/validate_settings.py score --data VALROOT --model VALMODEL --dataset siftflow -o sf.json
    python benchmarks/validate_settings.py score --data VALROOT --model VALMODEL --dataset sun -o sun.json

``split`` writes VALROOT with the same layout as ROOT (``siftflow/``, ``sun/``: image
folders linked, lists rewritten): ``train.txt`` / ``extra.txt`` keep the training part and
``test.txt`` lists the held-out images, so ``deepcolor train`` and ``deepcolor benchmark``
work on it unchanged. ``score`` colorizes every held-out image once per setting
(the network predictions are shared between refinements) and prints the mean and median
PSNR of each.
"""

import argparse
import json
import os
import sys

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)

HOLD_OUT = {"siftflow": ("train.txt", 8), "sun": ("extra.txt", 4)}
#: (label, blend, lookup layers; 0 = all layers)
LOOKUPS = [("top layer", 1, 1), ("top layer", 3, 1), ("top layer", 8, 1), ("top layer", 24, 1),
           ("all layers", 1, 0), ("all layers", 8, 0)]
REFINES = ("dt", "none")


def read_lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def make_split(root, out):
    """VALROOT: every n-th image of each reference list held out as ``test.txt``."""
    for name, (listname, every) in HOLD_OUT.items():
        src, dst = os.path.join(root, name), os.path.join(out, name)
        os.makedirs(dst, exist_ok=True)
        link = os.path.join(dst, "images")
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(src, "images")), link)
        if os.path.isfile(os.path.join(src, "categories.csv")):
            with open(os.path.join(src, "categories.csv"), encoding="utf-8") as fin, \
                    open(os.path.join(dst, "categories.csv"), "w", encoding="utf-8") as fout:
                fout.write(fin.read())
        names = read_lines(os.path.join(src, listname))
        held = [n for i, n in enumerate(names, 1) if i % every == 0]
        kept = [n for i, n in enumerate(names, 1) if i % every != 0]
        for listfile, items in ((listname, kept), ("test.txt", held)):
            with open(os.path.join(dst, listfile), "w", encoding="utf-8") as handle:
                handle.write("\n".join(items) + "\n")
        print(f"{name}: {len(kept)} kept in {listname}, {len(held)} held out in test.txt")
    return 0


def score(root, dataset, model, out):
    import torch

    from deepcolor.clustering.hierarchy import lookup
    from deepcolor.core.color import combine, rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr
    from deepcolor.pipeline import Colorizer, predict_chroma
    from deepcolor.core.refine import refine_chroma

    torch.set_num_threads(1)
    folder = os.path.join(root, dataset)
    names = read_lines(os.path.join(folder, "test.txt"))
    colorizer = Colorizer.load(model)
    results = {}
    for name in names:
        rgb = load_rgb(os.path.join(folder, "images", name))
        gray = rgb2gray(rgb)
        probs, gist, hist = colorizer.analyze(gray)
        results.setdefault("gray", []).append(psnr(rgb, combine(gray, np.zeros(gray.shape + (2,), np.float32))))
        for label, blend, layers in LOOKUPS:
            clusters = [c for c in colorizer.all_clusters if layers == 0 or c.layer < layers]
            chosen = lookup(clusters, gist, hist, k=colorizer.k, blend=blend).chosen
            uv = predict_chroma([colorizer.network(c) for c in chosen], gray, probs, colorizer.stride)
            for refine in REFINES:
                key = f"{label}, blend {blend}, {refine}"
                results.setdefault(key, []).append(psnr(rgb, combine(gray, refine_chroma(gray, uv, refine))))
    table = {k: {"psnr_mean": round(float(np.mean(v)), 3), "psnr_median": round(float(np.median(v)), 3),
                 "n": len(v)} for k, v in results.items()}
    doc = {"dataset": dataset, "held_out": f"{dataset}/test.txt of {root}", "model": model,
           "predict_stride": colorizer.stride, "lookup_k": colorizer.k, "results": table}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=1)
    for key, row in table.items():
        print(f"{key:32s} {row['psnr_mean']:7.3f} {row['psnr_median']:7.3f}  n={row['n']}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("split", help="write the held-out data root")
    p.add_argument("--data", required=True, help="data root holding siftflow/ and sun/")
    p.add_argument("-o", "--output", required=True, help="held-out data root to write")
    p = sub.add_parser("score", help="PSNR of each setting on the held-out images")
    p.add_argument("--data", required=True, help="the held-out data root made by 'split'")
    p.add_argument("--dataset", choices=sorted(HOLD_OUT), required=True)
    p.add_argument("--model", required=True, help="model trained on the held-out data root")
    p.add_argument("-o", "--output", required=True, help="JSON file of the results")
    args = parser.parse_args(argv)
    if args.command == "split":
        return make_split(args.data, args.output)
    return score(args.data, args.dataset, args.model, args.output)


if __name__ == "__main__":
    sys.exit(main())
