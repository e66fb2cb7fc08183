"""Several networks of one architecture averaged, run as one (``--blend`` and ``--ensemble``)."""

import numpy as np

from deepcolor.networks.bins import annealed_mean

__all__ = ["NetworkBlend"]


class NetworkBlend:
    """The average of several :class:`~deepcolor.networks.ChromaNetwork` of one architecture, run as one.

    Every network's input standardization is folded into its first layer, the first
    layers are concatenated into one matrix (all networks read the same features), and
    the deeper layers run as matrix products on each network's block, so K networks cost
    far less than K separate passes. Bin networks are each read by their own annealed
    mean (their own bins and temperature) before the average: the blend averages colours,
    as it does for regressors. Outputs equal the mean of the networks'
    :meth:`~deepcolor.networks.ChromaNetwork.predict` up to float32 rounding.
    """

    def __init__(self, networks):
        import torch

        networks = list(networks)
        if not networks:
            raise ValueError("a blend needs at least one network")
        shapes = {(n.input_dim, n.hidden, n.layers, n.bins) for n in networks}
        if len(shapes) != 1:
            raise ValueError(f"networks of a blend must share one architecture (input, hidden, layers, bins), "
                             f"got {sorted(shapes)}")
        self.input_dim, self.hidden, self.layers, self.bins = shapes.pop()
        self.size = len(networks)
        self.device = networks[0].device
        linears = [[m for m in n.net if hasattr(m, "weight")] for n in networks]
        first_w, first_b = [], []
        for net, layers in zip(networks, linears):
            w = layers[0].weight.detach().float().cpu() / torch.from_numpy(net.std)[None, :]
            first_w.append(w)
            first_b.append(layers[0].bias.detach().float().cpu() - w @ torch.from_numpy(net.mean))
        self.first_w = torch.cat(first_w).t().contiguous().to(self.device)  # (D, K*hidden)
        self.first_b = torch.cat(first_b).to(self.device)
        self.deep = []
        for depth in range(1, len(linears[0])):
            w = torch.stack([layers[depth].weight.detach().float().cpu().t() for layers in linears])
            b = torch.stack([layers[depth].bias.detach().float().cpu() for layers in linears])
            self.deep.append((w.contiguous().to(self.device), b[:, None, :].contiguous().to(self.device)))
        self.readers = [None if n.centres is None else (torch.from_numpy(n.centres).to(self.device), n.temperature)
                        for n in networks]

    def predict(self, feats, batch=65536):
        """Mean U/255, V/255 of the networks for each row of ``feats`` (n, D) -> (n, 2) float32."""
        import torch

        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.input_dim:
            raise ValueError(f"features must have shape (n, {self.input_dim}), got {feats.shape}")
        out = np.empty((feats.shape[0], 2), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, feats.shape[0], batch):
                x = torch.from_numpy(np.ascontiguousarray(feats[start:start + batch])).to(self.device)
                first = torch.relu_(torch.addmm(self.first_b, x, self.first_w))  # (n, K * hidden)
                outs = []
                for k in range(self.size):
                    # one matrix product per network on its column block: the same products as a
                    # batched one, twice as fast on the CPU (no strided batch copy)
                    h = first[:, k * self.hidden:(k + 1) * self.hidden]
                    for i, (w, b) in enumerate(self.deep):
                        h = torch.addmm(b[k, 0], h, w[k])
                        if i < len(self.deep) - 1:
                            h = torch.relu_(h)
                    if self.readers[k] is not None:
                        h = annealed_mean(h, *self.readers[k])
                    outs.append(h)
                out[start:start + batch] = torch.stack(outs).mean(dim=0).cpu().numpy()
        return out
