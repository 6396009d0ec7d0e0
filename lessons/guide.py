"""The course-wide pages (glossary and field guide): step links and the field guide's live checks.

Words live in lessons/text/<language>/glossary.md and field_guide.md. A link to a lesson step is
written there as `[[<lesson id>:<step id>]]` (the ids `lessons.registry.entries()` gives, the ones a
step's URL carries: `optimizers?step=lr`); `resolve` turns it into a Markdown link whose label is
the lesson's number and the step's current title, so a renamed step never leaves a stale label and
a link to a missing step is caught by tests/lessons/test_guide.py.

The live checks are claims over ten seeds (lessons.claims.Claim), measured with the engine:

- `init_ln_k`: the digits classifier (64 inputs, one hidden layer of 32 ReLU units, K = 10 classes)
  starts at a loss of ln 10 = 2.303 when its logits start near zero (weights N(0, 0.01²)), and
  above it with He initialisation (confident, random logits cost more than a uniform guess);
- `stuck_ln_k`: with every weight zero the same net stays at ln 10 (no signal reaches the hidden
  layer, only the output biases learn the class frequencies), while He initialisation learns;
- `overfit_batch`: the same net drives its loss on one small batch of 32 digits to near zero.

Their runs are not lesson steps; `lessons.registry.all_experiments` adds them, so the one precompute
command ships them (and its `--prune` keeps them):

    python -m engine.precompute lessons.registry:all_experiments lessons.registry:all_memos
"""
from __future__ import annotations

import math
import re
from typing import Callable, Optional

import altair as alt
import pandas as pd

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec
from lessons import registry
from lessons.charts import seed_curves
from lessons.claims import Claim, Evidence, measure
from lessons.theme import INIT_COLORS, REFERENCE, SPLIT_COLORS

K = 10  # digits: ten classes
LN_K = math.log(K)  # the loss of a uniform guess over K classes: 2.303 nats

# ---------------------------------------------------------------- step links

LINK = re.compile(r"\[\[([A-Za-z_]\w*):([A-Za-z_]\w*)\]\]")


def steps_by_lesson() -> dict[str, dict]:
    """{lesson id: {"number", "title", "steps": {step id: step title}}} for the registered lessons."""
    return {e.lesson.id: {"number": e.lesson.number, "title": e.lesson.title,
                          "steps": {s.id: s.title for s in e.lesson.steps}} for e in registry.entries()}


def links_in(text: str) -> list[tuple[str, str]]:
    """The (lesson id, step id) pairs that `text` links to."""
    return [(m.group(1), m.group(2)) for m in LINK.finditer(text or "")]


def broken_links(text: str, index: Optional[dict] = None) -> list[str]:
    """The links in `text` whose lesson or step does not exist."""
    index = steps_by_lesson() if index is None else index
    return [f"{lid}:{sid}" for lid, sid in links_in(text)
            if lid not in index or sid not in index[lid]["steps"]]


def step_href(lesson_id: str, step_id: str) -> str:
    """A step's address relative to the app's root: the page's URL path and `step=<id>`."""
    return f"{lesson_id}?step={step_id}"


def resolve(text: str, label: Callable[..., str], href: Callable[[str, str], str] = step_href,
            index: Optional[dict] = None) -> str:
    """Replace each `[[lesson:step]]` with a Markdown link labelled `label(number=, lesson=, title=)`
    (the lesson's number and title, the step's title). A link to a missing step is left as written."""
    index = steps_by_lesson() if index is None else index

    def sub(m: re.Match) -> str:
        lid, sid = m.group(1), m.group(2)
        lesson = index.get(lid)
        if lesson is None or sid not in lesson["steps"]:
            return m.group(0)
        name = label(number=lesson["number"], lesson=lesson["title"], title=lesson["steps"][sid])
        return f"[{name}]({href(lid, sid)})"

    return LINK.sub(sub, text or "")


def items(text: str) -> list[str]:
    """The entries of a Markdown list (`- ...` or `1. ...` lines, with their indented continuations)."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if re.match(r"^(- |\d+\. )", line):
            out.append(line)
        elif out and line.strip():
            out[-1] = f"{out[-1]} {line.strip()}"
    return out


GREEK = {"eta": "η", "lambda": "λ", "beta": "β", "delta": "δ", "sigma": "σ", "varepsilon": "ε",
         "epsilon": "ε", "ell": "ℓ"}  # a LaTeX name in the words -> the letter a learner may type


def matches(entry: str, query: str) -> bool:
    """Whether a glossary entry contains `query`, case-insensitive, with Markdown's ** and $ ignored and a
    Greek letter found whether it is typed (η) or spelled as in the LaTeX (eta)."""
    q = query.strip().lower()
    plain = re.sub(r"[*$`]", "", entry).lower()
    letters = re.sub(r"\\([A-Za-z]+)", lambda m: GREEK.get(m.group(1), m.group(0)), plain)
    return not q or q in plain or q in letters


# ---------------------------------------------------------------- the live checks

INITS = {"He": dict(init="he_normal"), "N(0, 0.01²)": dict(init="normal", init_std=0.01),
         "zeros": dict(init="zeros")}  # chart labels (lessons.theme.INIT_COLORS) -> ModelSpec fields
INIT_STEPS = 100
OVERFIT_ROWS = 64  # digits drawn for the one-batch check; half of them (32) are the training batch
OVERFIT_STEPS = 200


def _digits_net(**model) -> ModelSpec:
    return ModelSpec(hidden=(32,), activation="relu", **model)


def init_runs(seed: int) -> list[Experiment]:
    """One seed of the initial-loss check: the digits net under each of INITS, full batch, Adam."""
    return [Experiment(data=DataSpec("digits", n=0, seed=seed), model=_digits_net(**INITS[name]),
                       optim=OptimSpec("adam", lr=0.003), train=TrainSpec(steps=INIT_STEPS, record_every=5),
                       seed=seed) for name in INITS]


def overfit_runs(seed: int) -> list[Experiment]:
    """One seed of "overfit one batch": 32 training digits, the same net, Adam, full batch."""
    data = DataSpec("digits", n=OVERFIT_ROWS, seed=seed, train_frac=0.5, val_frac=0.25, test_frac=0.25)
    return [Experiment(data=data, model=_digits_net(), optim=OptimSpec("adam", lr=0.01),
                       train=TrainSpec(steps=OVERFIT_STEPS, record_every=5), seed=seed)]


def _first(r) -> float:
    return float(r.history["train_loss"].iloc[0])


def _init_stats(res) -> dict:
    he, small, zeros = res
    return {"small": _first(small), "he": _first(he), "gap": abs(_first(small) - LN_K), "excess": _first(he) - LN_K}


def _stuck_stats(res) -> dict:
    he, _, zeros = res
    end = float(zeros.final["train_loss"])
    return {"zeros_end": end, "gap": abs(end - LN_K), "he_end": float(he.final["train_loss"])}


def _overfit_stats(res) -> dict:
    r = res[0]
    return {"start": _first(r), "end": float(r.final["train_loss"]), "acc": float(r.final["train_metric"]),
            "val": float(r.final["val_loss"]), "val_acc": float(r.final["val_metric"])}


INIT_LN_K = Claim("init_ln_k", init_runs, _init_stats, lambda v: v["gap"] < 0.01 and v["excess"] > 0.2,
                  what="N(0, 0.01²) weights start within 0.01 of ln 10; He initialisation starts 0.2 or more above")
STUCK_LN_K = Claim("stuck_ln_k", init_runs, _stuck_stats, lambda v: v["gap"] < 0.01 and v["he_end"] < 0.5,
                   what="all-zero weights stay within 0.01 of ln 10 for 100 steps; He initialisation ends below 0.5")
OVERFIT_BATCH = Claim("overfit_batch", overfit_runs, _overfit_stats, lambda v: v["end"] < 0.01 and v["acc"] == 1.0,
                      what="32 digits are fitted to a loss below 0.01 and every one classified right")
CLAIMS = (INIT_LN_K, STUCK_LN_K, OVERFIT_BATCH)


def experiments() -> list[Experiment]:
    """Every run the field guide's default view needs (`lessons.registry.all_experiments` adds them)."""
    return [e for c in CLAIMS for e in c.runs()]


def evidence(progress=None, cache=True) -> dict[str, Evidence]:
    """The three claims, measured with one `run_many` (the shipped cache first)."""
    return measure(CLAIMS, progress=progress, cache=cache)


def curves(seeds=None, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs behind the claims as long tables for the charts: (init: seed, step, init, loss),
    (overfit: seed, step, split, loss)."""
    from engine import run_many

    seeds = INIT_LN_K.seeds if seeds is None else seeds
    res = run_many([e for s in seeds for e in init_runs(s)] + [e for s in seeds for e in overfit_runs(s)],
                   progress=progress)
    n = len(INITS) * len(seeds)
    rows = []
    for r, name in zip(res[:n], list(INITS) * len(seeds)):
        h = r.history
        rows.append(pd.DataFrame({"seed": r.config.seed, "step": h["step"], "init": name, "loss": h["train_loss"]}))
    init = pd.concat(rows, ignore_index=True)
    rows = []
    for r in res[n:]:
        h = r.history
        for split, col in (("train", "train_loss"), ("val", "val_loss")):
            rows.append(pd.DataFrame({"seed": r.config.seed, "step": h["step"], "split": split, "loss": h[col]}))
    return init, pd.concat(rows, ignore_index=True)


def _ln_k_rule(label: str, x_end: float) -> alt.LayerChart:
    """A dashed rule at ln K, labelled at its right end."""
    df = pd.DataFrame({"y": [LN_K], "x": [x_end], "label": [label]})
    rule = alt.Chart(df).mark_rule(color=REFERENCE, strokeDash=[6, 4], strokeWidth=2).encode(y="y:Q")
    text = alt.Chart(df).mark_text(align="right", baseline="bottom", dy=-4, color=REFERENCE, fontSize=14).encode(
        x="x:Q", y="y:Q", text="label:N")
    return rule + text


def init_chart(df: pd.DataFrame, *, title: str, x_title: str, y_title: str, rule: str,
               height: int = 280) -> alt.LayerChart:
    """Training loss over the first steps for each initialisation, every seed, with ln K marked."""
    chart = seed_curves(df, "step", "loss", color="init", colors=INIT_COLORS, x_title=x_title, y_title=y_title,
                        title=title, height=height)
    return (alt.layer(chart, _ln_k_rule(rule, float(df["step"].max()))).resolve_scale(color="independent")
            .configure_legend(orient="top"))


def overfit_chart(df: pd.DataFrame, *, title: str, x_title: str, y_title: str, rule: str,
                  height: int = 280) -> alt.LayerChart:
    """Training and validation loss of the one-batch fit (log scale: near zero shows as a fall of decades)."""
    df = df[df["loss"] > 0].copy()
    chart = seed_curves(df, "step", "loss", color="split", colors=SPLIT_COLORS, x_title=x_title, y_title=y_title,
                        title=title, log_y=True, height=height)
    return (alt.layer(chart, _ln_k_rule(rule, float(df["step"].max()))).resolve_scale(color="independent")
            .configure_legend(orient="top"))


__all__ = ["K", "LN_K", "LINK", "steps_by_lesson", "links_in", "broken_links", "step_href", "resolve", "items",
           "matches", "INITS", "INIT_STEPS", "OVERFIT_STEPS", "init_runs", "overfit_runs", "INIT_LN_K", "STUCK_LN_K",
           "OVERFIT_BATCH", "CLAIMS", "experiments", "evidence", "curves", "init_chart", "overfit_chart"]
