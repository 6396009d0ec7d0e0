"""A tiny lesson used only by the tests: every control kind, a preset, checks, every output kind,
a heavy step that reports progress, and a demo that raises."""
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
    Lesson,
    LogSlider,
    Markdown,
    Metric,
    Note,
    Question,
    Select,
    Slider,
    Step,
    Table,
    Toggle,
)


def _curve(values, progress):
    n, gain = values["points"], values["gain"]
    progress(0.5, "half way")
    df = pd.DataFrame({"x": list(range(n)) * 2,
                       "y": [gain * i for i in range(n)] + [values["lr"] * i for i in range(n)],
                       "activation": [values["activation"]] * n + ["identity"] * n})
    chart = alt.Chart(df).mark_line().encode(
        x="x:Q", y="y:Q",
        color=alt.Color("activation:N", scale=color_scale(ACTIVATION_COLORS, sorted(set(df.activation)))))
    outs = [
        Chart(chart.properties(height=220), caption="A straight line, twice."),
        Metric("Points", str(n)), Metric("Gain", f"{gain:.2f}", delta="+0.1"),
        Table(df.head(3), caption="The first rows."),
        Note("Everything is fine.", kind="success"),
        Markdown("Some **markdown**."),
        Latex(r"y = g \, x"),
        Columns([[Note("left", kind="warning")], [Code("print('right')")]]),
    ]
    if values["log"]:
        outs.append(Note("The log toggle is on.", kind="info"))
    progress(1.0, "done")
    return outs


def _tiny(seed: int, lr: float) -> Experiment:
    return Experiment(data=DataSpec("moons", n=100, seed=seed), model=ModelSpec(hidden=(4,)),
                      optim=OptimSpec("sgd", lr=lr), train=TrainSpec(steps=20, record_every=10), seed=seed)


FASTER = Claim("faster", experiments=lambda s: [_tiny(s, 0.01), _tiny(s, 0.5)],
               statistic=lambda r: {"gain": r[0].final["train_loss"] - r[1].final["train_loss"]},
               holds=lambda v: v["gain"] > 0)


def _broken(values, progress):
    raise RuntimeError("the sample demo fails on purpose")


LESSON = Lesson(
    id="sample_lesson",
    number=0,
    title="Sample lesson",
    summary="A test lesson that exercises the walkthrough renderer.",
    intro="Only the tests use this lesson.",
    references=("Glorot & Bengio 2010",),
    steps=(
        Step(
            id="intro", title="Plain text step",
            narrative="No demo here, only **text** and an equation.",
            equations=(r"\sigma(x) = \frac{1}{1 + e^{-x}}",),
            notice="Nothing moves on this step. A 50x larger rate lowered the loss in {faster.of} "
                   "(by {faster[gain]:.3f} on average).",
            question=Question("Is 2 even?", ("yes", "no"), answer=0,
                              explanations=("2 = 2 x 1.", "It is: 2 = 2 x 1 (and {faster.of} agree).")),
            claims=(FASTER,),
        ),
        Step(
            id="curve", title="A live curve",
            narrative="Move the controls.",
            controls=(
                Slider("points", "Points", 2, 20, 5, step=1),
                Slider("gain", "Gain", 0.0, 2.0, 1.0, step=0.1),
                LogSlider("lr", "Learning rate", (0.001, 0.01, 0.1, 1.0), 0.01),
                Select("activation", "Activation", ("relu", "tanh", "sigmoid"), "relu"),
                Toggle("log", "Log scale", False),
            ),
            presets=(("Steep tanh", {"gain": 1.8, "activation": "tanh"}),),
            demo=_curve, heavy=True,
            notice="The line gets steeper with the gain.",
            questions=(Question("What does gain do?", ("steepens", "flattens", "nothing"), answer=0,
                                explanations=("Yes.", "No, it steepens.", "It does something.")),),
        ),
        Step(
            id="broken", title="A demo that fails",
            narrative="The demo below raises; the page must carry on.",
            controls=(Slider("level", "Level", 1, 3, 1),),
            demo=_broken,
        ),
    ),
)
