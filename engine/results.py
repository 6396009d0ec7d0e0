"""What a run returns: plain data, no tensors.

history: one row per recorded step — step, lr, train/val loss, train/val metric (accuracy or R^2),
  and per layer l (1-based): grad_norm_l and weight_norm_l (weights of layer l, the output layer
  last), act_mean_l, act_std_l and dead_l (fraction of units that output 0 on every probe input)
  for hidden layers, prelu_slope_l (mean learned slope) for PReLU nets.
final: {train,val,test}_{loss,metric} after training (best weights when early stopping restores).
snapshots: (n_snapshots, grid, grid) on meta["extent"]: P(class 1) for binary data, the predicted
  class for multiclass 2-D data (blobs3); None when not asked for.
params: the final parameters as one flat float32 vector (`weights()` unpacks it per layer).
meta: device, wall_time (of the stacked pass), group_size, cache_hit, diverged_at (step or None),
  stopped_at (early stopping), steps, n_params, metric, task, loss, snapshot_steps, extent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import Experiment


@dataclass
class Result:
    config: Experiment
    history: pd.DataFrame
    final: dict
    snapshots: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    params: np.ndarray | None = None

    def weights(self) -> list[dict]:
        """Per layer (hidden layers, then the output layer): {"W": (in, out), "b": (out,), ...}."""
        if self.params is None:
            return []
        from . import data as D
        from .model import Layout

        s = D.load(self.config.data)
        lay = Layout(self.config.model, s.n_features, s.n_outputs)
        out = [dict() for _ in range(lay.n_layers)]
        for p in lay.pieces:
            v = self.params[p.offset: p.offset + p.size].reshape(p.shape)
            out[p.layer][p.kind] = v if p.kind == "W" else v.reshape(-1)
        return out

    @property
    def diverged(self) -> bool:
        return self.meta.get("diverged_at") is not None

    def layer_columns(self, prefix: str) -> list[str]:
        """History columns `prefix_1, prefix_2, ...` in layer order."""
        cols = [c for c in self.history.columns if c.startswith(prefix + "_") and c[len(prefix) + 1:].isdigit()]
        return sorted(cols, key=lambda c: int(c.rsplit("_", 1)[1]))

    def long(self, prefix: str) -> pd.DataFrame:
        """Per-layer columns as a long table: step, layer, value (for charts)."""
        cols = self.layer_columns(prefix)
        df = self.history[["step"] + cols].melt("step", var_name="layer", value_name=prefix)
        df["layer"] = df["layer"].str.rsplit("_", n=1).str[1].astype(int)
        return df
