"""Which ImageNet-trained network (AlexNet or VGG16), which of its layers, how many dims, and
which training mix help the photos the general test is made of: ImageNet classes the
training never saw. On held-out images.

    python benchmarks/general_deep_layers.py --data ROOT --model MODEL [--trunk alexnet|vgg16]
        [--train-every 4] [--deep-file hyper.npy] [--whole 600] -o general_deep_layers.json

``--trunk vgg16`` reads VGG16's relu5_3 and relu4_3 + relu5_3 (``deepcolor train --deep-net
vgg16``) in place of conv5 and conv3-5; ``--train-every 4`` trains every variant on a
quarter of the training images (the held-out set is the same), so two trunks can be
compared in the time VGG16 needs (about 0.1 s per image on 2 cores).

The general test split holds one ImageNet photo per class, none of the training sources'
classes. ``general_limits.py --hold-out class`` holds out every 10th class of every
classed source, which leaves one Imagenette and one Imagewoof class (600 photos), and its
mean is carried by the face sets (``benchmarks/results/general_limits_class_source.txt``).
Here the held-out set is made of the test's kind of photo: every ``--imagenet-every``-th
class of Imagenette and of Imagewoof (ImageNet synsets), and every ``--every``-th class
of Caltech-101 (objects); every other image trains. Figures are the mean over the
held-out images of the per-image chroma PSNR on the cached pixels, as a gain over gray
(as ``general_limits.py``), by source; "imagenet" is the mean over the held-out
Imagenette and Imagewoof photos, the figure the choices are read from. No test list is read.

Every variant is one network (``--hidden`` units, 5 epochs, 100 pixels of each training
image) on ``MODEL``'s features (the paper's and the local context when the model was
trained with ``--context``), plus:

* AlexNet's conv5 through a PCA to 64 dims (``general-alexnet``'s kind of feature);
* the hypercolumn conv3 + conv4 + conv5 (896 numbers, one grid: ``LAYER_GRID``) through a
  PCA to 64 and to 128 dims (Larsson, Maire, Shakhnarovich, ECCV 2016 read hypercolumns);
* conv5 PCA 64 plus the image's mean conv5 (its object content) through a PCA to 16,
  the same for every pixel of an image;
* the hypercolumn PCA 64 with the face sets (UTKFace, All-Age-Faces, face masks: 6.3k of the
  21k general photos) weighted 1/4 in the loss;
* the hypercolumn PCA 64 with 256 hidden units.

The PCAs are fitted on a tenth of the training pixels. The vectors at the pixels used
(2.9M) are computed once, about 10 min on 2 cores, and kept in ``--deep-file`` (float16)
when given. With ``--whole N``, N held-out Imagenette/Imagewoof photos (evenly spread) are then
colorized whole, as ``deepcolor colorize`` does (working size, every 2nd pixel, domain
transform, full resolution), by the variants that can (no per-image vector), and scored by
the benchmark's RGB PSNR over gray.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import _common  # (also sets OMP_WAIT_POLICY before torch starts OpenMP)
from choose_clusters import image_class
from general_limits import HeldOut

FACE_SOURCES = ("general/utkface", "general/aaf", "general/facemask")
IMAGENET_SOURCES = ("general/imagenette", "general/imagewoof")


def imagenet_split(names, imagenet_every, every):
    """``(train, held)``: every ``imagenet_every``-th Imagenette and Imagewoof class and every
    ``every``-th Caltech-101 class (sorted) held out; every other image trains."""
    classes = [image_class(n) for n in names]
    held_classes = set()
    for source, step in (("imagenette", imagenet_every), ("imagewoof", imagenet_every), ("caltech101", every)):
        held_classes |= set(sorted({c for c in classes if c and c.startswith(source + ":")})[::step])
    held = [i for i, c in enumerate(classes) if c in held_classes]
    chosen = set(held)
    return [i for i in range(len(names)) if i not in chosen], held


class Trunk:
    """The network a run reads: ``alexnet`` (column conv3-5, top conv5) or ``vgg16`` (column
    relu4_3 + relu5_3, top relu5_3): its maps of a gray image and the names of its parts."""

    def __init__(self, name):
        if name == "alexnet":
            from deepcolor.features.alexnet import ALEXNET, AlexNetTrunk, deep_maps

            net, self.layers, self.top, self.column = AlexNetTrunk(device="cpu"), (3, 4, 5), "conv5", "conv3-5"
            self.dims = [ALEXNET[i - 1][0] for i in self.layers]
            self.maps = lambda gray: deep_maps(gray, net, layers=self.layers)
        else:
            from deepcolor.features.vgg import VGG16, VGG16Trunk, vgg_maps

            net, self.layers, self.top, self.column = VGG16Trunk(device="cpu"), (4, 5), "relu5_3", "relu4_3+5_3"
            self.dims = [VGG16[b - 1][-1] for b in self.layers]
            self.maps = lambda gray: vgg_maps(gray, net, self.layers)
        self.name = name


def hypercolumns(ho, settings, trunk, path, log):
    """The trunk's column at the training rows ``ho.sub_rows`` and then the held-out rows
    ``ho.held_rows``, (rows, dims) float16, and each image's mean top layer, (images, C)
    float32 (zero for an image with no rows). Read from ``path`` (.npy, and ``path`` +
    ``.mean.npy``) when there, else computed (only the images with rows run the trunk)."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.data.sampling import image_seed, sample_pixels
    from deepcolor.features.alexnet import deep_at

    dims = sum(trunk.dims)
    rows = np.concatenate([ho.sub_rows, ho.held_rows])
    if path and os.path.isfile(path) and os.path.isfile(path + ".mean.npy"):
        out, means = np.load(path, mmap_mode="r"), np.load(path + ".mean.npy")
        if out.shape == (len(rows), dims) and means.shape[0] == len(ho.tset):
            return out, means
        log(f"{path}: does not fit this split; computing again")
    out = np.empty((len(rows), dims), np.float16)
    means = np.zeros((len(ho.tset), trunk.dims[-1]), np.float32)
    image = rows // ho.per_image
    order = np.argsort(image, kind="stable")  # the rows of image i: order[bounds[i]:bounds[i + 1]]
    bounds = np.searchsorted(image[order], np.arange(len(ho.tset) + 1))
    todo = [i for i in range(len(ho.tset)) if bounds[i + 1] > bounds[i]]
    start = time.perf_counter()
    for n, i in enumerate(todo):
        gray = rgb2gray(load_rgb(ho.tset.paths[i]))
        r, c = sample_pixels(gray.shape, ho.per_image, image_seed(ho.tset.names[i], settings["seed"]))
        maps = trunk.maps(gray)
        means[i] = maps.maps[-1].mean(axis=(0, 1))
        at = order[bounds[i]:bounds[i + 1]]
        pos = rows[at] - i * ho.per_image
        out[at] = deep_at(maps, r[pos], c[pos])
        if (n + 1) % 2000 == 0:
            log(f"  {trunk.column}: {n + 1} of {len(todo)} images ({time.perf_counter() - start:.0f} s)")
    if path:
        np.save(path, out)
        np.save(path + ".mean.npy", means)
    return out, means


def projected(vectors, projection, block=262144):
    """``project`` block by block (float16 in, float32 out): memory stays a block."""
    from deepcolor.features.alexnet import project

    return np.concatenate([project(vectors[s:s + block], projection) for s in range(0, len(vectors), block)])


def imagenet_gain(ho, row):
    """The mean gain over the held-out Imagenette and Imagewoof photos, from a scored row."""
    parts = [row["by_source"][s] for s in IMAGENET_SOURCES if s in row["by_source"]]
    return sum(p["gain"] * p["images"] for p in parts) / max(1, sum(p["images"] for p in parts))


def study(ho, settings, trunk, deep, means, epochs, hidden, log):
    """Train and score every variant; returns the rows and what the whole-image step needs."""
    from deepcolor.features.alexnet import fit_projection
    from deepcolor.networks import train_network

    n_sub = len(ho.sub_rows)
    fit = np.arange(0, n_sub, 10)
    top = slice(sum(trunk.dims[:-1]), deep.shape[1])
    log("fitting the PCAs on a tenth of the training pixels")
    proj5 = fit_projection(np.asarray(deep[fit, top], np.float32), 64)
    hyper128 = fit_projection(np.asarray(deep[fit], np.float32), 128)
    hyper64 = (hyper128[0], hyper128[1][:64])  # principal axes are nested: the leading 64 of 128
    image_proj = fit_projection(means[ho.train], 16)
    image_vec = projected(means, image_proj)
    t, c = trunk.top, trunk.column
    extra = {f"{t} PCA 64": (top, proj5), f"{c} PCA 64": (slice(None), hyper64),
             f"{c} PCA 128": (slice(None), hyper128)}
    cache = {}

    def deep_part(key, part):  # part: "sub" or "held"
        if (key, part) not in cache:
            cols, projection = extra[key]
            rows = slice(0, n_sub) if part == "sub" else slice(n_sub, None)
            cache[key, part] = projected(deep[rows, cols], projection)
        return cache[key, part]

    face = np.isin(np.array(["/".join(ho.tset.names[i].split("/", 2)[:2]) for i in range(len(ho.tset))]),
                   FACE_SOURCES)
    variants = [("model's features", None, False, False, hidden),
                (f"+ {t} PCA 64", f"{t} PCA 64", False, False, hidden),
                (f"+ {c} PCA 64", f"{c} PCA 64", False, False, hidden),
                (f"+ {c} PCA 128", f"{c} PCA 128", False, False, hidden)]
    if trunk.name == "alexnet":  # measured with AlexNet only (benchmarks/results/general_deep_layers.txt)
        variants += [(f"+ {t} PCA 64 + image's mean {t} PCA 16", f"{t} PCA 64", True, False, hidden),
                     (f"+ {c} PCA 64, faces weighted 1/4", f"{c} PCA 64", False, True, hidden),
                     (f"+ {c} PCA 64, {2 * hidden} hidden units", f"{c} PCA 64", False, False, 2 * hidden)]
    rows, networks = [], {}
    for name, key, with_image, faces_down, units in variants:
        def inputs(part):
            r = ho.sub_rows if part == "sub" else ho.held_rows
            cols = [ho.feats[r]] + ([deep_part(key, part)] if key else []) \
                + ([image_vec[ho.image_of(r)]] if with_image else [])
            return np.concatenate(cols, axis=1)
        weight = np.where(face[ho.image_of(ho.sub_rows)], 0.25, 1.0) if faces_down else None
        start = time.perf_counter()
        net = train_network(inputs("sub"), ho.targets[ho.sub_rows], hidden=units, epochs=epochs, seed=0,
                            device="cpu", sample_weight=weight)
        row = ho.score(name, net.predict(inputs("held")), log)
        row.update(imagenet=imagenet_gain(ho, row), hidden=units, training_seconds=time.perf_counter() - start,
                   final_training_mse=net.history[-1])
        log(f"    imagenet (held-out Imagenette + Imagewoof classes): {row['imagenet']:+.3f} dB")
        rows.append(row)
        if not with_image:
            networks[name] = (net, extra[key] if key else None)
    return rows, networks


def whole_images(ho, trunk, networks, count, log, ways=None, sources=IMAGENET_SOURCES):
    """``count`` held-out photos of ``sources`` (default Imagenette/Imagewoof) colorized whole by each network:
    mean RGB PSNR gain over gray (domain transform), by source, and the outputs' mean
    colourfulness (Hasler and Suesstrunk, the report's ``cf``). Each network's projected
    vectors are read at the prediction grid (every 2nd pixel) from the trunk's maps.

    ``ways`` (optional) maps a network's name to more ways of colorizing with it, each
    ``(label, predict stride, domain-transform overrides)``; every network is always scored
    the colorizer's way (its stride, the release's domain transform). A network with a
    ``for_image(grid)`` method (``general_vgg_clusters.Routed``) is asked for the image's own
    network, from the image's projected vectors at the prediction grid; one with a
    ``for_work(work, probs, stride, context, deep)`` method
    (``general_vgg_adaptive.PerPhotoTemperature``) for the network to run on the working image;
    one with a ``chroma_on(work, probs, stride, context, deep)`` method
    (``general_vgg_pooled.Pooled``) gives the chroma on the working image itself."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import colorfulness, psnr
    from deepcolor.core.refine import refine_chroma
    from deepcolor.core.settings import ColorizeSettings
    from deepcolor.features import semantic_probabilities
    from deepcolor.features.alexnet import DeepMaps, deep_at, project
    from deepcolor.pipeline.colorizer import predict_chroma, to_full_resolution, working_image

    default = [("refine dt", ColorizeSettings.predict_stride, {})]
    runs = [(name, label, step, params) for name in networks
            for label, step, params in default + list((ways or {}).get(name, ()))]
    candidates = [i for i in ho.held if "/".join(ho.tset.names[i].split("/", 2)[:2]) in sources]
    picked = candidates[::max(1, len(candidates) // count)][:count]  # spread over the held-out classes
    gains = {(name, label): [] for name, label, _, _ in runs}
    colour = {(name, label): [] for name, label, _, _ in runs}
    sources, truth_colour = [], []
    for h, i in enumerate(picked):
        rgb = load_rgb(ho.tset.paths[i])
        gray = rgb2gray(rgb)
        work = working_image(gray, ColorizeSettings.working_size)
        probs = ho.tset.semantic(i, gray) if work is gray else semantic_probabilities(work, ho.tset.parser)
        base = psnr(rgb, to_full_resolution(gray, work, np.zeros(work.shape + (2,), np.float32)))
        raw = trunk.maps(work)
        columns = {}
        for name, label, stride, params in runs:
            net, part = networks[name]
            gy, gx = np.arange(0, work.shape[0], stride), np.arange(0, work.shape[1], stride)
            if stride not in columns:  # the column at the prediction grid
                columns[stride] = deep_at(raw, np.repeat(gy, gx.size), np.tile(gx, gy.size))
            maps = None
            if part is not None:
                cols, projection = part
                grid = project(columns[stride][:, cols], projection).reshape(gy.size, gx.size, -1)
                maps = DeepMaps(work.shape, 1.0, [grid], grids=[(stride, 0.0)])  # exact at the grid points
            if hasattr(net, "for_image"):  # one network per cluster of images: the image's own
                net = net.for_image(grid)
            if hasattr(net, "for_work"):  # a read-out chosen per photo from the network's own inputs
                net = net.for_work(work, probs, stride, ho.tset.config.context or None, maps)
            if hasattr(net, "chroma_on"):  # a reading of its own (general_vgg_pooled.Pooled)
                uv = net.chroma_on(work, probs, stride, ho.tset.config.context or None, maps)
            else:
                uv = predict_chroma(net, work, probs, stride, ho.tset.config.context or None, maps)
            refined = to_full_resolution(gray, work, refine_chroma(work, uv, "dt", **params))
            gains[name, label].append(psnr(rgb, refined) - base)
            colour[name, label].append(colorfulness(refined))
        truth_colour.append(colorfulness(rgb))
        sources.append(ho.tset.names[i].split("/", 2)[1])
        if (h + 1) % 100 == 0:
            log(f"  whole images: {h + 1} of {len(picked)}")
    sources = np.array(sources)
    rows = []
    for (name, label), g in gains.items():
        g = np.array(g)
        row = {"variant": f"whole image: {name}, {label}", "images": len(g), "imagenet": float(g.mean()),
               "by_source": {s: float(g[sources == s].mean()) for s in sorted(set(sources))},
               "colorfulness": float(np.mean(colour[name, label])), "truth_colorfulness": float(np.mean(truth_colour))}
        log(f"{row['variant']:60s} gain {row['imagenet']:+.3f} dB over {len(g)} photos (" +
            ", ".join(f"{s} {v:+.3f}" for s, v in row["by_source"].items()) + "), RGB PSNR; "
            f"colourfulness {row['colorfulness']:.1f} (truth {row['truth_colorfulness']:.1f})")
        rows.append(row)
    return rows


def held_out_split(args):
    """``(settings, tset, ho)`` from the studies' options: ``--model``'s training set (every
    ``--subset``-th image), held out by :func:`imagenet_split`, every ``--train-every``-th
    remaining image training; ``tset`` holds only those images (``--jobs`` processes compute
    the features of any not cached)."""
    with open(os.path.join(args.model, "checkpoints", "train_state.json"), encoding="utf-8") as handle:
        names = json.load(handle)["images"][::args.subset]
    train, held = imagenet_split(names, args.imagenet_every, args.every)
    train = train[::args.train_every]
    # only the images the split uses are read (their features computed when not cached), in
    # the run's order, so the rows, and the networks trained on them, are those of the whole set
    used = sorted(train + held)
    settings, tset = _common.model_training_set(args.data, args.model, [names[i] for i in used], args.dataset,
                                                args.cache, jobs=args.jobs)
    position = {i: k for k, i in enumerate(used)}
    return settings, tset, HeldOut(tset, settings, args.every,
                                   split=([position[i] for i in train], [position[i] for i in held]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True, help="a trained model folder: its images, settings and cached features")
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--imagenet-every", type=int, default=3, help="hold out every n-th Imagenette and Imagewoof class")
    p.add_argument("--every", type=int, default=10, help="hold out every n-th Caltech-101 class")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--trunk", choices=("alexnet", "vgg16"), default="alexnet",
                   help="the network read: AlexNet (conv5; conv3-5) or VGG16 (relu5_3; relu4_3 + relu5_3)")
    p.add_argument("--train-every", type=int, default=1,
                   help="train on every n-th training image only (bounds VGG16's cost; the held-out set is whole)")
    p.add_argument("--deep-file", help="a .npy file keeping the trunk's vectors at the pixels used (float16)")
    p.add_argument("--whole", type=int, default=0, help="colorize this many held-out ImageNet-class photos whole")
    p.add_argument("--subset", type=int, default=1, help="every n-th training image only (a quick check of the script)")
    p.add_argument("--cache")
    p.add_argument("--jobs", type=int, default=1, help="processes computing the features of images not in the cache")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    import torch

    torch.set_num_threads(2)
    start = time.perf_counter()
    settings, tset, ho = held_out_split(args)
    log(f"{len(tset)} images: {len(ho.train)} training, {len(ho.held)} held out: "
        + ", ".join(f"{s.split('/')[1]} {int((ho.sources == s).sum())}" for s in sorted(set(ho.sources))))
    trunk = Trunk(args.trunk)
    deep, means = hypercolumns(ho, settings, trunk, args.deep_file, log)
    result = {"model": os.path.abspath(args.model), "trunk": args.trunk, "imagenet_every": args.imagenet_every,
              "every": args.every, "train_every": args.train_every, "training_images": len(ho.train),
              "held_out": len(ho.held), "hidden": args.hidden, "epochs": args.epochs}
    result["pixels"], networks = study(ho, settings, trunk, deep, means, args.epochs, args.hidden, log)
    if args.whole:
        result["whole_images"] = whole_images(ho, trunk, networks, args.whole, log)
    result["seconds"] = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
