"""A streamed network's training state after an epoch, so that a killed run goes on at the
next epoch instead of starting the network again.

One network on the 24.5k-image union trains for about 40 minutes from the feature cache
(:func:`deepcolor.networks.streaming.train_network_streaming`); without this, a run cut
short in its fourth epoch trained all five again. The file (safetensors, JSON in its
header; no pickle) holds everything the remaining epochs depend on: the network's and
Adam's tensors, the standardization and bin centres, the states of both random generators
(the minibatch order's and torch's, which dropout draws from), the step of the learning-rate
schedule and the losses so far. A resumed training therefore ends with the weights the
uninterrupted one ends with, on the same device.

A file is read only when its ``fingerprint`` (the data's digest given by the caller and
every setting that shapes the training) equals the current one; any other file, or one
that cannot be read, is ignored and later overwritten.
"""

import json
import os

__all__ = ["load_epoch_state", "save_epoch_state"]


def _rng_tensors(device):
    import torch

    tensors = {"rng_state": torch.get_rng_state()}
    if str(device).startswith("cuda"):
        tensors["cuda_rng_state"] = torch.cuda.get_rng_state(device)
    return tensors


def save_epoch_state(path, fingerprint, *, epochs_done, step, history, net, optimizer, generator, mean, std,
                     centres, rows, mean_weight, device):
    """Write the training state after ``epochs_done`` epochs to ``path`` atomically.

    Parameters
    ----------
    path : str
        The file (``.safetensors``); its folder is created when missing.
    fingerprint : str
        What the state belongs to; :func:`load_epoch_state` returns it only for the same one.
    epochs_done, step : int
        Epochs finished, and optimizer steps taken (the cosine schedule's position).
    history : list of float
        The finished epochs' losses.
    net, optimizer, generator : torch.nn.Module, torch.optim.Adam, torch.Generator
        The network (unwrapped), its optimizer, and the generator of the minibatch order.
    mean, std : ndarray (D,) float32
        The inputs' standardization; ``centres`` the bins' (B, 2) float32, or None.
    rows, mean_weight : int, float
        The samples counted by the moments' pass, and their mean weight.
    device : str or torch.device
        The training's; on CUDA its generator's state is kept too (dropout draws from it).
    """
    import torch
    from safetensors.torch import save_file

    from deepcolor.core.files import atomic_write

    opt = optimizer.state_dict()
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for index, entries in opt["state"].items():
        for name, value in entries.items():
            tensors[f"opt.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors.update(mean=torch.from_numpy(mean), std=torch.from_numpy(std), generator=generator.get_state(),
                   **_rng_tensors(device))
    if centres is not None:
        tensors["centres"] = torch.from_numpy(centres)
    meta = {"fingerprint": fingerprint, "epochs_done": int(epochs_done), "step": int(step),
            "history": [float(h) for h in history], "param_groups": opt["param_groups"], "rows": int(rows),
            "mean_weight": float(mean_weight)}
    with atomic_write(path) as tmp:
        save_file(tensors, tmp, metadata={"deepcolor_epoch_state": json.dumps(meta)})


def load_epoch_state(path, fingerprint):
    """The state :func:`save_epoch_state` wrote to ``path`` for ``fingerprint``, as a dict
    (``meta``: the JSON; ``net``, ``opt``: state dicts of tensors; ``mean``, ``std``,
    ``centres``: arrays; ``generator``, ``rng_state``, ``cuda_rng_state``: byte tensors), or
    None when there is none for that fingerprint or it cannot be read."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not path or not os.path.isfile(path):
        return None
    try:
        with safe_open(path, framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("deepcolor_epoch_state", "{}"))
        if not isinstance(meta, dict) or meta.get("fingerprint") != fingerprint:
            return None
        tensors = load_file(path)
    except Exception:  # cut short or garbled (safetensors raises its own types): trained from the start
        return None
    opt_state = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            opt_state.setdefault(int(index), {})[name] = value
    try:
        return {"meta": meta,
                "net": {k[4:]: v for k, v in tensors.items() if k.startswith("net.")},
                "opt": {"state": opt_state, "param_groups": meta["param_groups"]},
                "mean": tensors["mean"].numpy(), "std": tensors["std"].numpy(),
                "centres": tensors["centres"].numpy() if "centres" in tensors else None,
                "generator": tensors["generator"], "rng_state": tensors["rng_state"],
                "cuda_rng_state": tensors.get("cuda_rng_state")}
    except KeyError:
        return None
