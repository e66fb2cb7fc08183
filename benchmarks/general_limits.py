"""Where the everyday-photo PSNR of the paper's method goes, and four changes to it, on held-out images.

    python benchmarks/general_limits.py --data ROOT --model MODEL [--report REPORT --method NAME]
        [--dataset siftflow:train sun:extra general:train] [--every 10] [--hold-out name|class] [--cache DIR]
        -o general_limits.json

``MODEL`` gives the images, feature settings and cached features (as
``choose_clusters.py`` reads them); every ``--every``-th image by name is held out, or
with ``--hold-out class`` every ``--every``-th class of the general set's classed sources
(as its test split is built; ``choose_clusters.held_out_split``). Nothing here reads a
test list. Figures are the mean over held-out images of each image's chroma PSNR on its
cached pixels (10 log10(1 / MSE), U and V in [0, 1] units), the way ``deepcolor
benchmark`` averages per-image PSNR, as a gain over gray (zero chroma).

1. **Inputs** (one network of ``--hidden`` units (128) on 100 of each training image's pixels,
   ``--epochs``): the paper's features; plus local context
   (:mod:`deepcolor.features.context`: the pixel's position y/H, x/W and the gray image
   blurred at sigma 4 and 12 px, read on 3x3 grids 8 and 24 px apart: 20 numbers); plus global context (the image's gist reduced to 32 dims by PCA and
   its semantic histogram, given to every pixel).
2. **Loss weighted for the per-image mean** (the network of study 1 with the paper's
   features): each training image weighted by 1 / (its mean squared chroma + c), c in
   ``--weight-c``; the benchmark averages
   per-image PSNR (log MSE), which unweighted least squares does not minimize.
3. **A chroma scale per image** on top of the top-layer model (N0 ``--clusters``,
   per-cluster networks, the colorizer's lookup and blend, as ``choose_clusters.py``):
   the per-image least-squares scale (an oracle), that scale predicted from the gray
   image (gist, semantic histogram, luminance and DAISY means, the prediction's own
   statistics; ridge and gradient boosting, 5-fold cross-validated over held-out images),
   rescaling to the chroma energy predicted the same way, and global gains.
4. With ``--report``: the test loss against gray of ``--method`` by the ground truth's
   colorfulness (a finished ``deepcolor report``/``benchmark`` folder's per-image rows;
   reading measured rows, not choosing anything).
5. With ``--studies ...,whole`` (and/or ``whole-top``): the held-out images colorized whole
   by study 1's networks (and/or study 3's top-layer model, its lookup and blend) as
   ``deepcolor colorize`` does (working size, every 2nd pixel, refinement none and the
   domain transform, full resolution), scored by the benchmark's RGB PSNR over gray.
6. With ``--studies deep``: study 1's network with local context, and the same with
   AlexNet's conv5 read at each pixel (:mod:`deepcolor.features.alexnet`), reduced from 256
   to 16, 32 and 64 dims by PCA fitted on a tenth of the training pixels. The conv5 vectors of
   every cached pixel are computed once (about 8 min for 24.5k images) and kept in
   ``--deep-file`` (float16 .npy) when given. With ``whole`` too, study 5 colorizes with
   study 6's networks (those reading conv5 whole) in place of study 1's.
"""

import argparse
import csv
import json
import os
import sys
import time

import numpy as np

import _common  # (also sets OMP_WAIT_POLICY before torch starts OpenMP)
from choose_clusters import held_out_split, networks_for, top_layer_model, top_layer_predictions


def per_image_psnr(pred, truth):
    """Chroma PSNR of each image: ``pred``, ``truth`` (m, S, 2) -> (m,)."""
    return 10 * np.log10(1 / np.maximum(((pred - truth) ** 2).mean(axis=(1, 2)), 1e-12))


def local_context(tset, settings):
    """The local context (:func:`deepcolor.features.context_features`) at each cached pixel, (n * S, 20) float32."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.data.sampling import image_seed, sample_pixels
    from deepcolor.features import CONTEXT_DIMS, context_features

    per_image = settings["samples"]
    out = np.empty((len(tset) * per_image, CONTEXT_DIMS), np.float32)
    for i, (name, path) in enumerate(zip(tset.names, tset.paths)):
        gray = rgb2gray(load_rgb(path))
        rows, cols = sample_pixels(gray.shape, per_image, image_seed(name, settings["seed"]))
        out[i * per_image:(i + 1) * per_image] = context_features(gray, rows, cols)
    return out


def deep_at_cached_pixels(tset, settings, path=None, log=print):
    """AlexNet's conv5 (:func:`deepcolor.features.deep_features`) at each cached pixel,
    (n * S, DEEP_DIMS) float16; read from ``path`` (.npy) when it exists, else computed and saved there."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.data.sampling import image_seed, sample_pixels
    from deepcolor.features.alexnet import DEEP_DIMS, AlexNetTrunk, deep_features

    per_image = settings["samples"]
    if path and os.path.isfile(path):
        out = np.load(path, mmap_mode="r")
        if out.shape == (len(tset) * per_image, DEEP_DIMS):
            return out
        log(f"{path}: shape {out.shape} does not fit this training set; computing again")
    trunk = AlexNetTrunk(device="cpu")
    out = np.empty((len(tset) * per_image, DEEP_DIMS), np.float16)
    for i, (name, image) in enumerate(zip(tset.names, tset.paths)):
        gray = rgb2gray(load_rgb(image))
        rows, cols = sample_pixels(gray.shape, per_image, image_seed(name, settings["seed"]))
        out[i * per_image:(i + 1) * per_image] = deep_features(gray, rows, cols, trunk)
        if (i + 1) % 2000 == 0:
            log(f"  conv5 at the cached pixels: {i + 1} of {len(tset)}")
    if path:
        np.save(path, out)
    return out


class HeldOut:
    """The held-out split of a training set, its cached pixels and the per-image scorer."""

    def __init__(self, tset, settings, every, by="name", subsample=100, split=None):
        self.tset, self.per_image = tset, settings["samples"]
        self.feats, self.targets = tset.samples(range(len(tset)))
        # split: (train, held) indices chosen by the caller, in place of held_out_split's
        self.train, self.held = split or held_out_split(tset.names, every, by)
        pick = np.sort(np.random.default_rng(0).choice(self.per_image, subsample, replace=False))
        self.sub_rows = (np.asarray(self.train)[:, None] * self.per_image + pick[None]).ravel()
        self.held_rows = (np.asarray(self.held)[:, None] * self.per_image + np.arange(self.per_image)[None]).ravel()
        self.truth = self.targets[self.held_rows].reshape(len(self.held), self.per_image, 2)
        self.sets = np.array([tset.names[i].split("/", 1)[0] for i in self.held])
        # the general set's source (imagenette, utkface, ...): its held-out mix is not the test's
        self.sources = np.array(["/".join(tset.names[i].split("/", 2)[:2]) if s == "general" else ""
                                 for i, s in zip(self.held, self.sets)])
        self.gray_psnr = per_image_psnr(np.zeros_like(self.truth), self.truth)

    def image_of(self, rows):
        return rows // self.per_image

    def by_source(self, gain):
        """Mean gain per source of the general set's held-out images (and how many there are)."""
        return {s: {"gain": float(np.nanmean(gain[self.sources == s])), "images": int((self.sources == s).sum())}
                for s in sorted(set(self.sources) - {""})}

    @staticmethod
    def log_sources(by_source, log):
        log("    general by source: " + ", ".join(f"{s.split('/')[1]} {v['gain']:+.3f} ({v['images']})"
                                                  for s, v in by_source.items()))

    def score(self, name, pred, log):
        """Mean per-image PSNR gain over gray, overall and per dataset, and the mean chroma magnitude."""
        pred = pred.reshape(self.truth.shape)
        gain = per_image_psnr(pred, self.truth) - self.gray_psnr
        row = {"variant": name, "gain_over_gray": float(gain.mean()),
               "by_dataset": {s: float(gain[self.sets == s].mean()) for s in sorted(set(self.sets))},
               "by_source": self.by_source(gain),
               "mse": float(((pred - self.truth) ** 2).mean()),
               "chroma_magnitude": float(np.sqrt((pred ** 2).sum(-1)).mean()),
               "truth_magnitude": float(np.sqrt((self.truth ** 2).sum(-1)).mean())}
        log(f"{name:44s} gain {row['gain_over_gray']:+.3f} dB ("
            + ", ".join(f"{s} {v:+.3f}" for s, v in row["by_dataset"].items())
            + f"); MSE {row['mse']:.6f}; |chroma| {row['chroma_magnitude']:.4f} (truth {row['truth_magnitude']:.4f})")
        self.log_sources(row["by_source"], log)
        return row


def study_inputs(ho, settings, epochs, log, hidden=128):
    from sklearn.decomposition import PCA

    from deepcolor.networks import train_network

    reduced = PCA(32, random_state=0).fit(ho.tset.gists[ho.train]).transform(ho.tset.gists).astype(np.float32)
    global_context = np.concatenate([reduced, ho.tset.histograms], axis=1)
    rows, networks = [], {}
    variants = [("paper's features", ()), ("+ local context", ("local",)),
                ("+ global context", ("global",)), ("+ local and global context", ("local", "global"))]
    if ho.tset.config.context:  # a --context model's cached features hold the local context already
        context = None
        variants = [("paper's features + local context (the model's)", ()), ("+ global context", ("global",))]
    else:
        context = local_context(ho.tset, settings)
    for name, parts in variants:
        def inputs(r):
            cols = [ho.feats[r]] + ([context[r]] if "local" in parts else []) \
                + ([global_context[ho.image_of(r)]] if "global" in parts else [])
            return np.concatenate(cols, axis=1)
        net = train_network(inputs(ho.sub_rows), ho.targets[ho.sub_rows], hidden=hidden, epochs=epochs, seed=0,
                            device="cpu")
        rows.append(ho.score(f"inputs: {name}", net.predict(inputs(ho.held_rows)), log))
        rows[-1]["final_training_mse"] = net.history[-1]
        if "global" not in parts:  # a whole image can be colorized with it (study 5)
            networks[name] = net
    return rows, networks


def study_deep(ho, settings, epochs, log, hidden=128, deep_file=None, dims=(16, 32, 64)):
    """Study 6: does AlexNet's conv5, which knows ImageNet's objects, help the held-out images?
    Returns the rows, the networks and the projection each network reads conv5 through."""
    from deepcolor.features.alexnet import fit_projection, project
    from deepcolor.networks import train_network

    # a --context model's cached features hold the local context already
    context = None if ho.tset.config.context else local_context(ho.tset, settings)
    deep = deep_at_cached_pixels(ho.tset, settings, deep_file, log)
    fit_rows = ho.sub_rows[::10]
    rows, networks, projections = [], {}, {}
    for k in (0, *dims):
        name = "+ local context" + (f" + conv5 PCA {k}" if k else "")
        projection = fit_projection(np.asarray(deep[fit_rows], np.float32), k) if k else None

        def inputs(r):
            cols = [ho.feats[r]] + ([context[r]] if context is not None else []) \
                + ([project(deep[r], projection)] if k else [])
            return np.concatenate(cols, axis=1)
        start = time.perf_counter()
        net = train_network(inputs(ho.sub_rows), ho.targets[ho.sub_rows], hidden=hidden, epochs=epochs, seed=0,
                            device="cpu")
        rows.append(ho.score(f"deep: {name}", net.predict(inputs(ho.held_rows)), log))
        rows[-1]["final_training_mse"] = net.history[-1]
        rows[-1]["training_seconds"] = time.perf_counter() - start
        networks[name] = net
        if k:
            projections[name] = projection
    return rows, networks, projections


def study_whole_images(ho, networks, log, refines=("none", "dt"), projections=None):
    """Study 5: the held-out images colorized whole, as ``deepcolor colorize`` does (working
    size, every 2nd pixel, refinement, full resolution), scored by the benchmark's RGB PSNR,
    as a gain over gray: does a gain at the cached pixels survive? ``networks``: name ->
    one network, or a function of the held-out image's index giving the networks to blend;
    ``projections``: name -> the projection through which that network reads AlexNet's conv5 (study 6)."""
    from deepcolor.core.color import rgb2gray
    from deepcolor.core.io import load_rgb
    from deepcolor.core.metrics import psnr
    from deepcolor.core.refine import refine_chroma
    from deepcolor.core.settings import ColorizeSettings
    from deepcolor.features import semantic_probabilities
    from deepcolor.features.alexnet import AlexNetTrunk, DeepMaps, deep_maps, project
    from deepcolor.pipeline.colorizer import predict_chroma, to_full_resolution, working_image

    projections = projections or {}
    trunk = AlexNetTrunk(device="cpu") if projections else None
    gains = {(n, r): np.empty(len(ho.held)) for n in networks for r in refines}
    for h, i in enumerate(ho.held):
        rgb = load_rgb(ho.tset.paths[i])
        gray = rgb2gray(rgb)
        work = working_image(gray, ColorizeSettings.working_size)
        if work is gray:
            probs = ho.tset.semantic(i, gray)
        else:
            probs = semantic_probabilities(work, ho.tset.parser) if ho.tset.config.semantic else None
        base = psnr(rgb, to_full_resolution(gray, work, np.zeros(work.shape + (2,), np.float32)))
        raw = deep_maps(work, trunk) if projections else None
        for name, net in networks.items():
            if name in projections:  # study 6's networks read the context and the projected conv5
                maps = DeepMaps(raw.shape, raw.factor, [project(raw.maps[0], projections[name])])
                uv = predict_chroma(net, work, probs, ColorizeSettings.predict_stride, True, maps)
            else:
                uv = predict_chroma(net(i) if callable(net) else net, work, probs, ColorizeSettings.predict_stride)
            for r in refines:
                gains[name, r][h] = psnr(rgb, to_full_resolution(gray, work, refine_chroma(work, uv, r))) - base
        if (h + 1) % 500 == 0:
            log(f"  whole images: {h + 1} of {len(ho.held)}")
    rows = []
    for (name, r), gain in gains.items():
        finite = np.isfinite(gain)
        row = {"variant": f"whole image: {name}, refine {r}", "gain_over_gray": float(gain[finite].mean()),
               "by_dataset": {s: float(gain[finite & (ho.sets == s)].mean()) for s in sorted(set(ho.sets))},
               "by_source": ho.by_source(np.where(finite, gain, np.nan))}
        rows.append(row)
        log(f"{row['variant']:44s} gain {row['gain_over_gray']:+.3f} dB ("
            + ", ".join(f"{s} {v:+.3f}" for s, v in row["by_dataset"].items()) + "), RGB PSNR")
        ho.log_sources(row["by_source"], log)
    return rows


def study_weighting(ho, c_values, epochs, log, hidden=128):
    from deepcolor.networks import train_network

    energy = (ho.targets.reshape(len(ho.tset), ho.per_image, 2) ** 2).mean(axis=(1, 2))
    rows = []  # the unweighted network is study 1's first
    for c in c_values:
        net = train_network(ho.feats[ho.sub_rows], ho.targets[ho.sub_rows], hidden=hidden, epochs=epochs, seed=0,
                            device="cpu", sample_weight=1 / (energy[ho.image_of(ho.sub_rows)] + c))
        rows.append(ho.score(f"loss: weight 1/(energy + {c:g})", net.predict(ho.feats[ho.held_rows]), log))
    return rows


def study_scale(ho, settings, n0, log):
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold

    import torch

    torch.set_num_threads(1)
    pred, _ = top_layer_predictions(ho.tset, ho.feats, ho.targets, settings, ho.train, ho.held, n0)
    truth = ho.truth
    scaled = lambda s: pred * np.asarray(s, np.float32).reshape(-1, 1, 1)  # noqa: E731
    rows = [ho.score(f"top layer N0 {n0}: as trained", pred, log)]
    for gain in (0.8, 1.2, 1.5):
        rows.append(ho.score(f"  global gain x{gain}", scaled(np.full(len(pred), gain)), log))
    best = np.clip((pred * truth).sum(axis=(1, 2)) / np.maximum((pred * pred).sum(axis=(1, 2)), 1e-12), 0, 4)
    rows.append(ho.score("  per-image scale, oracle", scaled(best), log))
    held = ho.held
    magnitude = np.sqrt((pred ** 2).sum(-1))
    feats = ho.feats[ho.held_rows].reshape(len(held), ho.per_image, -1)
    image_features = np.column_stack([
        PCA(32, random_state=0).fit_transform(ho.tset.gists[held]), ho.tset.histograms[held],
        magnitude.mean(1), magnitude.std(1), pred.mean(1), pred.std(1),
        feats[:, :, 24].mean(1), feats[:, :, 24].std(1), feats[:, :, 49:81].mean(1)])  # centre luminance, DAISY

    def cross_fitted(target, make):
        out = np.empty(len(held))
        for tr, te in KFold(5, shuffle=True, random_state=0).split(image_features):
            out[te] = make().fit(image_features[tr], target[tr]).predict(image_features[te])
        return out

    boosting = lambda: HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,  # noqa: E731
                                                     min_samples_leaf=40, random_state=0)
    for label, make in [("ridge", lambda: RidgeCV(alphas=np.logspace(-2, 3, 12))), ("gradient boosting", boosting)]:
        guess = np.clip(cross_fitted(best, make), 0, 4)
        rows.append(ho.score(f"  per-image scale, predicted ({label})", scaled(guess), log))
        rows[-1]["correlation_with_oracle"] = float(np.corrcoef(guess, best)[0, 1])
        log(f"    correlation with the oracle scale {rows[-1]['correlation_with_oracle']:.3f}")
    energy = np.sqrt((truth ** 2).sum(-1)).mean(1)
    energy_guess = cross_fitted(energy, boosting)
    rows.append(ho.score("  rescaled to the predicted chroma energy",
                         scaled(np.clip(energy_guess / np.maximum(magnitude.mean(1), 1e-6), 0, 4)), log))
    rows[-1]["energy_correlation"] = float(np.corrcoef(energy_guess, energy)[0, 1])
    log(f"    predicted against true chroma energy: correlation {rows[-1]['energy_correlation']:.3f}")
    return rows


def test_loss_by_colorfulness(report, method, log, edges=(0, 10, 20, 30, 45, 70, 1000)):
    """Per-image PSNR of ``method`` minus gray's, binned by the ground truth's colorfulness."""
    def read(name):
        with open(os.path.join(report, name, "per_image.csv"), encoding="utf-8") as handle:
            return {r["image"]: r for r in csv.DictReader(handle)}
    gray, model = read("gray"), read(method)
    names = sorted(gray)
    diff = np.array([float(model[n]["psnr"]) - float(gray[n]["psnr"]) for n in names])
    truth = np.array([float(gray[n]["colorfulness_gt"]) for n in names])
    made = np.array([float(model[n]["colorfulness"]) for n in names])
    log(f"test: {method} {diff.mean():+.3f} dB over gray on {len(names)} images")
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = (truth >= lo) & (truth < hi)
        if not s.any():
            continue
        rows.append({"colorfulness_gt": [lo, hi], "images": int(s.sum()), "mean_gain": float(diff[s].mean()),
                     "share_of_mean": float(diff[s].sum() / len(diff)), "colorfulness_made": float(made[s].mean())})
        log(f"  truth colorfulness {lo:3d}-{hi:<4d}: {s.sum():4d} images, {diff[s].mean():+.2f} dB each, "
            f"{rows[-1]['share_of_mean']:+.3f} dB of the mean; the model's colorfulness {made[s].mean():.1f}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DEEPCOLOR_DATA"))
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", nargs="+", default=["siftflow:train", "sun:extra", "general:train"])
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--hold-out", choices=("name", "class"), default="name",
                   help="hold out every --every-th image by name, or the general set's whole classes "
                        "(choose_clusters.held_out_split)")
    p.add_argument("--clusters", type=int, default=48, help="N0 of the top-layer model of study 3")
    p.add_argument("--epochs", type=int, default=5, help="epochs of the single networks of studies 1 and 2")
    p.add_argument("--hidden", type=int, default=128, help="hidden units of the single networks of studies 1 and 2")
    p.add_argument("--weight-c", default="0.004,0.001", help="the c values of study 2, comma-separated")
    p.add_argument("--studies", default="inputs,weighting,scale",
                   help="comma-separated: inputs (1), weighting (2), scale (3), whole (5: study 1's networks, "
                        "and 1 is run unless deep is given), whole-top (5: the top-layer model), deep (6; with whole, its networks "
                        "colorize whole images too)")
    p.add_argument("--deep-file", help="study 6: a .npy file keeping conv5 at every cached pixel (float16)")
    p.add_argument("--report", help="a report or benchmark folder whose general run to read (study 4)")
    p.add_argument("--method", default="deepcolor_model-general", help="the method folder of study 4")
    p.add_argument("--cache")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    result = {"model": os.path.abspath(args.model), "every": args.every, "hold_out": args.hold_out,
              "hidden": args.hidden}
    if args.report:
        result["test_loss_by_colorfulness"] = test_loss_by_colorfulness(os.path.join(args.report, "runs", "general"),
                                                                        args.method, log)
    import torch

    start = time.perf_counter()
    settings, tset = _common.model_training_set(args.data, args.model, None, args.dataset, args.cache)
    ho = HeldOut(tset, settings, args.every, args.hold_out)
    log(f"{len(tset)} images: {len(ho.train)} training, {len(ho.held)} held out ({time.perf_counter() - start:.0f} s)")
    torch.set_num_threads(2)
    studies = set(args.studies.split(","))
    networks, projections = {}, {}
    if "inputs" in studies or ("whole" in studies and "deep" not in studies):
        result["inputs"], networks = study_inputs(ho, settings, args.epochs, log, args.hidden)
    if "deep" in studies:
        result["deep"], deep_networks, projections = study_deep(ho, settings, args.epochs, log, args.hidden,
                                                                args.deep_file)
        if "whole" in studies:
            networks.update(deep_networks)
    if "weighting" in studies:
        result["weighting"] = study_weighting(ho, [float(c) for c in args.weight_c.split(",")], args.epochs, log,
                                              args.hidden)
    if "scale" in studies:
        result["scale"] = study_scale(ho, settings, args.clusters, log)
    if "whole-top" in studies:  # the top-layer model of study 3, colorizing as deepcolor colorize does
        torch.set_num_threads(1)
        clusters, nets, _ = top_layer_model(ho.tset, ho.feats, ho.targets, settings, ho.train, args.clusters)
        torch.set_num_threads(2)
        networks[f"top layer N0 {args.clusters}"] = lambda i: networks_for(ho.tset, clusters, nets, i)
    if "whole" in studies or "whole-top" in studies:
        result["whole_images"] = study_whole_images(ho, networks, log, projections=projections)
    result["seconds"] = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
