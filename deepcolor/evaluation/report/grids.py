"""The images of the report's qualitative figures: which images, and their predictions."""

import math
import os

import numpy as np


class _Images:
    """The predictions of one result for a few images: the run's saved images, the predictions
    folder, or recolorized with the method's factory (built once)."""

    def __init__(self, result, records):
        self.result = result
        self.records = {r.name: r for r in records}
        self._predict = None
        self._memo = {}

    def __call__(self, name):
        if name not in self._memo:
            self._memo[name] = self._load(name)
        return self._memo[name]

    def _load(self, name):
        from deepcolor.core.color import rgb2gray
        from deepcolor.core.io import load_rgb
        from deepcolor.evaluation.registry import Sample, get_method

        record = self.records[name]
        gt = load_rgb(record.path)
        gray = rgb2gray(gt)
        r = self.result
        saved = os.path.join(r["run_dir"] or "", "images", os.path.splitext(name)[0] + ".png")
        if r.get("predictions"):
            pred = load_rgb(r["predictions"][name])
        elif os.path.exists(saved):
            pred = load_rgb(saved)
        else:
            spec = get_method(r["method"])
            if self._predict is None:
                self._predict = spec.factory({k: v for k, v in r["run_options"].items() if k != "save_images_dir"})
            index = list(self.records).index(name)
            pred = np.asarray(self._predict(Sample(name, gray, gt if spec.uses_ground_truth else None, record.category, index)))
        return gt, gray, pred


def _grid_items(result, records, names, gray_psnr):
    from deepcolor.core.metrics import psnr

    images = result.setdefault("_images", _Images(result, records))
    items = []
    for name in names:
        gt, gray, pred = images(name)
        items.append({"name": name, "gt": gt, "gray": gray, "pred": pred, "psnr_pred": psnr(gt, pred),
                      "psnr_gray": gray_psnr(gt, gray)})
    return items


def _gray_psnr(gt, gray):
    from deepcolor.core.color import gray_to_rgb
    from deepcolor.core.metrics import psnr

    return psnr(gt, gray_to_rgb(gray))


def _selections(ref, n_grid, n_extremes, seed):
    rows = [row for row in ref["rows"] if not math.isnan(row["psnr"])]
    names = sorted(row["image"] for row in rows)
    rng = np.random.default_rng(seed)
    grid = sorted(rng.choice(names, size=min(n_grid, len(names)), replace=False).tolist()) if names else []
    ranked = sorted(rows, key=lambda row: (row["psnr"], row["image"]))
    worst = [row["image"] for row in ranked[:n_extremes]]
    best = [row["image"] for row in ranked[::-1][:n_extremes]]
    return {"grid": grid, "worst": worst, "best": best}
