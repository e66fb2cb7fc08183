"""Preamble shared by the benchmark scripts: OpenMP wait policy, threads, load calibration,
test images.

The scripts run as ``python benchmarks/x.py``, so this folder is on ``sys.path``; they
import this module before anything starts an OpenMP runtime (torch, Numba), because
importing it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is set already, as the
``deepcolor`` command does (:func:`deepcolor.cli.main`).
"""

import os
import time

# the figures are taken on cores shared with other jobs, where OpenMP's default
# spin-waiting can cost each parallel region a whole scheduler time slice
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def start_threads(threads):
    """Set Numba's and OpenCV's thread counts, start Numba's threading layer and print the setup.

    Parameters
    ----------
    threads : int
        Threads for each library (Numba's is capped at ``NUMBA_NUM_THREADS``).
    """
    import cv2
    import numba
    import numpy as np

    from deepcolor import features
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    cv2.setNumThreads(threads)
    features.extract_daisy(np.zeros((8, 8), np.uint8))  # starts the threading layer (JIT cached on disk)
    print(f"threads: numba {numba.get_num_threads()}, opencv {cv2.getNumThreads()}; cpus {os.cpu_count()}; "
          f"threading layer {numba.threading_layer()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; "
          f"load average {os.getloadavg()[0]:.2f}")


def print_calibration():
    """Print the median of 9 timings of ``np.exp`` on 2**20 float64, a measure of the machine's load.

    About 1.5 ms on an idle core of the development machine.
    """
    import numpy as np

    ones = np.ones(1 << 20)
    cal = []
    for _ in range(9):
        t0 = time.perf_counter()
        np.exp(ones)
        cal.append(time.perf_counter() - t0)
    print(f"calibration: np.exp(1M float64) median {sorted(cal)[4] * 1e3:.2f} ms")


def smooth_noise(rng, h, w, sigma):
    """A uint8 test image: uniform noise smoothed by a Gaussian, stretched to 0..255.

    Parameters
    ----------
    rng : numpy.random.Generator
    h, w : int
        Image shape.
    sigma : float
        Standard deviation of the Gaussian (pixels).

    Returns
    -------
    img : ndarray, shape (h, w), uint8
    """
    import numpy as np
    from scipy import ndimage

    img = ndimage.gaussian_filter(rng.random((h, w)) * 255, sigma)
    return np.clip(np.rint((img - img.min()) / (img.max() - img.min()) * 255), 0, 255).astype(np.uint8)


def run_records(data, model, datasets):
    """A (partly) trained model's ``checkpoints/train_state.json`` (its images, in order, and
    settings) and the records of its ``NAME:SPLIT`` lists ``datasets`` under the data root
    ``data``, by name."""
    import json

    from deepcolor.commands.train import parse_dataset
    from deepcolor.data import resolve_data_root

    with open(os.path.join(model, "checkpoints", "train_state.json"), encoding="utf-8") as handle:
        state = json.load(handle)
    root = resolve_data_root(data)
    records = {}
    for spec in datasets:
        records.update({r.name: r for r in parse_dataset(spec, root)})
    return state, records


def model_training_set(data, model, names, datasets, cache=None, jobs=1):
    """The cached training data of some images of a trained (or partly trained) model.

    Parameters
    ----------
    data : str or None
        The data root (``--data``; ``$DEEPCOLOR_DATA`` when None).
    model : str
        The model folder; ``checkpoints/train_state.json`` gives the run's settings.
    names : list of str or None
        The images wanted, in this order (names carry the dataset prefix); None: all the
        run's images, as checkpointed.
    datasets : list of str
        The run's ``NAME:SPLIT`` lists.
    cache : str, optional
        The cache folder (``--cache``; default as ``deepcolor train``'s).
    jobs : int
        Processes computing the features of images not in the cache.

    Returns
    -------
    settings : dict, the run's training and feature settings
    tset : TrainingSet of the images, with the model's parser for recomputing semantic maps
    """
    from deepcolor.core.paths import cache_dir
    from deepcolor.pipeline.training_set import feature_config, prepare

    state, records = run_records(data, model, datasets)
    settings = state["settings"]
    parser = os.path.join(model, "parser")
    config = feature_config(settings["samples"], settings["seed"], settings["semantic"], parser,
                            settings.get("context", False))
    names = state["images"] if names is None else names
    tset = prepare([records[m] for m in names], config, cache_dir(cache, "features"), parser=parser, jobs=jobs,
                   progress=False)
    if tset.failed:
        raise SystemExit(f"{len(tset.failed)} images not in the cache, e.g. {tset.failed[0][1]}")
    return settings, tset


def cluster_training_set(data, model, cluster, datasets, order=None, cache=None):
    """The cached training data of one cluster of a trained (or partly trained) model.

    Parameters
    ----------
    data, model, datasets, cache : as :func:`model_training_set`
    cluster : str
        The cluster's name, e.g. ``L0_C012``.
    order : callable(members) -> list, optional
        The members in the order wanted (default: as checkpointed).

    Returns
    -------
    settings : dict, the run's training and feature settings
    saved : dict, the cluster's checkpoint
    tset : TrainingSet of the members, with the model's parser for recomputing semantic maps
    """
    import json

    with open(os.path.join(model, "checkpoints", "clusters", f"{cluster}.json"), encoding="utf-8") as handle:
        saved = json.load(handle)
    members = order(saved["members"]) if order else saved["members"]
    try:
        settings, tset = model_training_set(data, model, members, datasets, cache)
    except SystemExit as exc:
        raise SystemExit(f"{cluster}: {exc}") from None
    return settings, saved, tset
