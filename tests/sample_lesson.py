"""A tiny lesson used only by the tests: every control kind, a preset, checks, every output kind,
a heavy step that reports progress, and a demo that raises.

It is also the smallest example of the lesson form (README, "Add a step"): each step is declared
once, next to its demo (controls, runs, presets, claims), and its words live in
tests/text/<language>/sample_lesson.md, keyed by step id (there is a Portuguese file too)."""
from pathlib import Path

import altair as alt
import pandas as pd

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec
from lessons.claims import Claim
from lessons.theme import ACTIVATION_COLORS, color_scale
from lessons.walkthrough import (
    Chart,
    Code,
    Columns,
    Latex,
    LogSlider,
    Markdown,
    Metric,
    Note,
    Select,
    Slider,
    Step,
    Table,
    Toggle,
)
from lessons.words import Words

W = Words("sample_lesson", folder=Path(__file__).resolve().parent / "text")


def _tiny(seed: int, lr: float) -> Experiment:
    return Experiment(data=DataSpec("moons", n=100, seed=seed), model=ModelSpec(hidden=(4,)),
                      optim=OptimSpec("sgd", lr=lr), train=TrainSpec(steps=20, record_every=10), seed=seed)


# ---------------------------------------------------------------- step "intro": text, an equation, a claim

FASTER = Claim("faster", experiments=lambda s: [_tiny(s, 0.01), _tiny(s, 0.5)],
               statistic=lambda r: {"gain": r[0].final["train_loss"] - r[1].final["train_loss"]},
               holds=lambda v: v["gain"] > 0)

INTRO = Step("intro", claims=(FASTER,))


# ---------------------------------------------------------------- step "curve": every control and output kind


def _curve(values, progress):
    n, gain = values["points"], values["gain"]
    progress(0.5, W("curve.half_way"))
    df = pd.DataFrame({"x": list(range(n)) * 2,
                       "y": [gain * i for i in range(n)] + [values["lr"] * i for i in range(n)],
                       "activation": [values["activation"]] * n + ["identity"] * n})
    chart = alt.Chart(df).mark_line().encode(
        x="x:Q", y="y:Q",
        color=alt.Color("activation:N", scale=color_scale(ACTIVATION_COLORS, sorted(set(df.activation)))))
    outs = [
        Chart(chart.properties(height=220), caption=W("curve.caption", n=n)),
        Metric(W("curve.points"), str(n)), Metric(W("curve.gain"), f"{gain:.2f}", delta="+0.1"),
        Table(df.head(3), caption=W("curve.first_rows")),
        Note(W("curve.fine"), kind="success"),
        Markdown(W("curve.markdown")),
        Latex(r"y = g \, x"),
        Columns([[Note(W("curve.left"), kind="warning")], [Code("print('right')")]]),
    ]
    if values["log"]:
        outs.append(Note(W("curve.log_on"), kind="info"))
    progress(1.0, W("curve.done"))
    return outs


CURVE = Step(
    "curve",
    controls=(
        Slider("points", "Points", 2, 20, 5, step=1),
        Slider("gain", "Gain", 0.0, 2.0, 1.0, step=0.1),
        LogSlider("lr", "Learning rate", (0.001, 0.01, 0.1, 1.0), 0.01),
        Select("activation", "Activation", ("relu", "tanh", "sigmoid"), "relu"),
        Toggle("log", "Log scale", False),
    ),
    presets=(("Steep tanh", {"gain": 1.8, "activation": "tanh"}),),
    runs=lambda v: [_tiny(0, v["lr"])],  # what a view of this step would draw (the stand-in demo draws none)
    demo=_curve, heavy=True,
)


# ---------------------------------------------------------------- step "broken": a demo that raises


def _broken(values, progress):
    raise RuntimeError("the sample demo fails on purpose")


BROKEN = Step("broken", controls=(Slider("level", "Level", 1, 3, 1),), demo=_broken)


LESSON = W.lesson(id="sample_lesson", number=0, steps=(INTRO, CURVE, BROKEN), references=("Glorot & Bengio 2010",))
