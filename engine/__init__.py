"""The course's PyTorch engine: experiments as values, batched sweeps, cached plain-data results.

    from engine import Experiment, DataSpec, ModelSpec, OptimSpec, run, run_many
    res = run(Experiment(data=DataSpec("circles"), model=ModelSpec(hidden=(8,), activation="relu")))
    res.history, res.final, res.meta

No Streamlit, no Altair, nothing from lessons/: it runs in a notebook, a CLI or on a GPU box.
"""
from . import rng  # noqa: F401  (engine.rng: the batched counter-based generator)
from .config import (
                     ACTIVATIONS,
                     DATASETS,
                     INITS,
                     LOSSES,
                     OPTIMIZERS,
                     SCHEDULES,
                     TOY_DATASETS,
                     DataSpec,
                     Experiment,
                     ModelSpec,
                     OptimSpec,
                     RegSpec,
                     TrainSpec,
)
from .device import device_info, pick_device
from .results import Result
from .sweep import run, run_many

__all__ = ["ACTIVATIONS", "DATASETS", "INITS", "LOSSES", "OPTIMIZERS", "SCHEDULES", "TOY_DATASETS", "DataSpec",
           "Experiment", "ModelSpec", "OptimSpec", "RegSpec", "TrainSpec", "Result", "device_info", "pick_device",
           "run", "run_many"]
