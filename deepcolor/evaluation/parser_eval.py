"""Scene parser evaluation: pixel accuracy, per-class and mean IoU, confusion matrix.

Unknown pixels (label 255) are ignored. ``deepcolor eval-parser`` writes
``summary.json`` and ``confusion.png`` with :func:`write_report`.
"""

import json
import os
import time

import numpy as np

from deepcolor.core.metrics import confusion_matrix, segmentation_metrics


def evaluate_records(parser, records, progress=True):
    """Confusion matrix over dataset records (image + label files); sizes must match.

    Returns ``(confusion, seconds)``.
    """
    from deepcolor.data import check_labels_match, load_labels
    from deepcolor.core.io import load_gray

    n = parser.num_classes
    conf = np.zeros((n, n), np.int64)
    items = records
    if progress:
        from tqdm import tqdm

        items = tqdm(records, desc="eval-parser", unit="img")
    start = time.perf_counter()
    for rec in items:
        gray = load_gray(rec.path)
        lab = load_labels(rec)
        check_labels_match(rec, gray.shape, lab)
        conf += confusion_matrix(lab, parser.labels(gray), n)
    return conf, time.perf_counter() - start


def confusion_image(confusion, class_names, cell=48):
    """A row-normalized confusion matrix drawn as an RGB uint8 image (rows = true class)."""
    from PIL import Image, ImageDraw, ImageFont

    c = np.asarray(confusion, dtype=np.float64)
    n = c.shape[0]
    norm = c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    font = ImageFont.load_default()
    label_w = max(70, 7 * max(len(s) for s in class_names) + 10)
    top = label_w
    width, height = label_w + n * cell + 10, top + n * cell + 30
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for i in range(n):
        for j in range(n):
            v = norm[i, j]
            shade = int(round(255 * (1 - v)))
            color = (shade, shade, 255) if i == j else (255, shade, shade)
            x0, y0 = label_w + j * cell, top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=color, outline=(200, 200, 200))
            if cell >= 28:
                text = f"{100 * v:.0f}"
                draw.text((x0 + cell // 2 - 3 * len(text), y0 + cell // 2 - 5), text, fill="black" if v < 0.6 else "white", font=font)
        draw.text((4, top + i * cell + cell // 2 - 5), class_names[i][:12], fill="black", font=font)
    # column labels, written vertically
    for j, name in enumerate(class_names):
        tmp = Image.new("RGB", (label_w - 4, 12), "white")
        ImageDraw.Draw(tmp).text((0, 0), name[:12], fill="black", font=font)
        tmp = tmp.rotate(90, expand=True)
        img.paste(tmp, (label_w + j * cell + cell // 2 - 6, 2))
    draw.text((label_w, height - 22), "rows: true class, columns: predicted (% of row)", fill="black", font=font)
    return np.asarray(img)


def write_report(outdir, confusion, class_names, extra=None, *, overwrite=True):
    """Write ``summary.json`` and ``confusion.png`` into ``outdir``; returns the summary dict."""
    from deepcolor.core.io import save_image

    os.makedirs(outdir, exist_ok=True)
    summary = segmentation_metrics(confusion, class_names)
    summary["class_names"] = list(class_names)
    summary["confusion_matrix"] = np.asarray(confusion).tolist()
    if extra:
        summary.update(extra)
    with open(os.path.join(outdir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    cell = 48 if len(class_names) <= 12 else 20
    save_image(os.path.join(outdir, "confusion.png"), confusion_image(confusion, class_names, cell=cell), overwrite=overwrite)
    return summary
