"""Charts several lessons draw: decision surfaces of 2-D classifiers and learning curves.

Plain functions from engine results to Altair charts (no Streamlit), so a notebook can call them.
"""
from __future__ import annotations

import re

import altair as alt
import numpy as np
import pandas as pd

from engine import data as D
from engine.results import Result
from lessons.theme import CLASS_COLORS, HELD_COLORS, INK, PROBABILITY_RANGE, REFERENCE, SPLIT_COLORS, color_scale


def surface_frame(prob: np.ndarray, extent) -> pd.DataFrame:
    """A (G, G) grid of values over extent (x0, x1, y0, y1) as rectangles for mark_rect."""
    G = prob.shape[0]
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, G), np.linspace(y0, y1, G)
    dx, dy = (x1 - x0) / (G - 1), (y1 - y0) / (G - 1)
    gx, gy = np.meshgrid(xs, ys)
    return pd.DataFrame({"x": gx.ravel() - dx / 2, "x2": gx.ravel() + dx / 2, "y": gy.ravel() - dy / 2,
                         "y2": gy.ravel() + dy / 2, "p": prob.ravel().astype(float)})


def points_frame(split: D.Split, which=("train", "test")) -> pd.DataFrame:
    parts = []
    for name in which:
        raw, y = getattr(split, f"raw_{name}"), getattr(split, f"y_{name}")
        parts.append(pd.DataFrame({"x1": raw[:, 0], "x2": raw[:, 1], "label": [f"class {int(v)}" for v in y],
                                   "split": name}))
    return pd.concat(parts, ignore_index=True)


def decision_surface(prob: np.ndarray, extent, split: D.Split | None = None, title: str = "",
                     multiclass: bool = False, width: int = 360, height: int = 330,
                     legend: bool = True) -> alt.LayerChart:
    """Predicted P(class 1) (or predicted class) as a coloured map, with the data on top.
    `legend=False` leaves the legends out (for all but one panel of a grid of surfaces)."""
    x0, x1, y0, y1 = extent
    xs = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    ys = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    df = surface_frame(prob, extent)
    if multiclass:
        df["p"] = [f"class {int(v)}" for v in df["p"]]
        fill = alt.Color("p:N", scale=color_scale(CLASS_COLORS), legend=None)
    else:
        # no gradient legend: it crowds the plot when Streamlit fits the chart to its column; captions
        # say "blue: class 0, orange: class 1, pale: unsure" instead
        fill = alt.Color("p:Q", scale=alt.Scale(domain=[0, 1], range=PROBABILITY_RANGE), legend=None)
    base = alt.Chart(df).mark_rect(opacity=0.45 if multiclass else 0.6).encode(
        x=alt.X("x:Q", scale=xs, title="x1"), x2="x2:Q", y=alt.Y("y:Q", scale=ys, title="x2"), y2="y2:Q",
        color=fill, tooltip=[])
    layers = [base]
    if split is not None:
        pts = points_frame(split)
        present = sorted(pts["label"].unique())
        layers.append(alt.Chart(pts).mark_point(filled=True, size=34, strokeWidth=0.8, stroke=INK).encode(
            x=alt.X("x1:Q", scale=xs), y=alt.Y("x2:Q", scale=ys),
            fill=alt.Fill("label:N", scale=color_scale(CLASS_COLORS, present),
                          legend=alt.Legend(title="", orient="bottom", columns=2) if legend else None),
            shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "triangle-up"]),
                            legend=alt.Legend(title="", orient="bottom", columns=2) if legend else None),
            tooltip=["split", "label", alt.Tooltip("x1:Q", format=".2f"), alt.Tooltip("x2:Q", format=".2f")]))
    return alt.layer(*layers).properties(width=width, height=height, title=title).resolve_scale(color="independent")


def learning_curves(res: Result, metric_title: str = "accuracy", vertical: bool = False, width: int = 300,
                    height: int = 220):
    """Loss and metric on train and validation data against the step (side by side or stacked)."""
    h = res.history
    loss = h.melt("step", ["train_loss", "val_loss"], "split", "loss")
    loss["split"] = loss["split"].str.replace("_loss", "")
    met = h.melt("step", ["train_metric", "val_metric"], "split", "value")
    met["split"] = met["split"].str.replace("_metric", "")
    col = alt.Color("split:N", scale=color_scale(SPLIT_COLORS, ["train", "val"]), title="")
    lc = alt.Chart(loss).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)), color=col,
        tooltip=["step", "split", alt.Tooltip("loss:Q", format=".4f")]).properties(width=width, height=height)
    mc = alt.Chart(met).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title=metric_title, scale=alt.Scale(domain=[0, 1])),
        color=col, tooltip=["step", "split", alt.Tooltip("value:Q", format=".3f")]
    ).properties(width=width, height=height)
    return alt.vconcat(lc, mc) if vertical else alt.hconcat(lc, mc)


# ---------------------------------------------------------------- evidence over seeds

_PATH_CHARS = re.compile(r"[.\[\]:\\]")


def _plain_fields(df: pd.DataFrame, *cols):
    """Vega-Lite reads '.' and brackets in a field name as a path into nested data (a column
    "share of |w| < 0.01" draws nothing), and Altair's shorthand splits on ':'. Such columns are
    renamed; the returned titles keep the original names. Returns (df, names, titles)."""
    ren = {c: _PATH_CHARS.sub("_", c) for c in cols if c and _PATH_CHARS.search(c)}
    names = [ren.get(c, c) if c else c for c in cols]
    return (df.rename(columns=ren) if ren else df), names, {n: c for c, n in zip(cols, names) if c}


def seed_chart(df: pd.DataFrame, x: str, y: str, *, color: str | None = None, colors: dict | None = None,
               x_title: str | None = None, y_title: str | None = None, title: str = "", sort=None,
               x_type: str = "O", log_y: bool = False, height: int = 230, width=None,
               label_angle: int | None = None, label_limit: int | None = None,
               legend: bool = True) -> alt.LayerChart:
    """Every seed's value as a faint dot, the mean over seeds as a line, and mean ± 1 sd as a bar.

    df: one row per (seed, x[, color]) with the value in `y`. Colours come from `colors` (a theme
    mapping) when given. The spread is drawn by Vega-Lite from the same rows, so the chart sends
    the per-seed values once. `label_angle` / `label_limit` set the x labels (0: upright);
    `legend=False` leaves out the colour legend (when the x labels already name each colour)."""
    df, (x, y, color), titles = _plain_fields(df, x, y, color)
    axis = {}
    if label_angle is not None:
        axis = {"axis": alt.Axis(labelAngle=label_angle, **({"labelLimit": label_limit} if label_limit else {}))}
    enc_x = alt.X(f"{x}:{x_type}", title=x_title if x_title is not None else titles[x], sort=sort, **axis)
    yscale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    ytitle = y_title if y_title is not None else titles[y]
    enc_y = alt.Y(f"{y}:Q", title=ytitle, scale=yscale)
    base = alt.Chart(df)
    kw = {}
    if color is not None:
        dom = list(dict.fromkeys(df[color].astype(str)))
        scale = color_scale(colors, dom) if colors else alt.Scale(domain=dom)
        kw["color"] = alt.Color(f"{color}:N", scale=scale, title="", **({} if legend else {"legend": None}))
    dots = base.mark_circle(size=28, opacity=0.35).encode(
        x=enc_x, y=enc_y, **kw,
        tooltip=[alt.Tooltip(f"{x}:{x_type}"), "seed:O"] + ([f"{color}:N"] if color else [])
        + [alt.Tooltip(f"{y}:Q", format=".3g", **({"title": titles[y]} if titles[y] != y else {}))])
    mean = base.mark_line(point=True).encode(x=enc_x, y=alt.Y(f"mean({y}):Q", scale=yscale, title=ytitle), **kw,
                                             tooltip=[alt.Tooltip(f"{x}:{x_type}"),
                                                      alt.Tooltip(f"mean({y}):Q", format=".3g", title="mean")])
    # every layer carries the same y title, or Vega-Lite joins the layers' field names into one
    bars = base.mark_errorbar(extent="stdev", thickness=2).encode(x=enc_x, y=alt.Y(f"{y}:Q", scale=yscale,
                                                                                     title=ytitle), **kw)
    props = {"height": height, "title": title}
    if width is not None:
        props["width"] = width
    return alt.layer(bars, dots, mean).properties(**props)


def seed_curves(df: pd.DataFrame, x: str, y: str, *, color: str | None = None, colors: dict | None = None,
                x_title: str | None = None, y_title: str | None = None, title: str = "", log_y: bool = False,
                height: int = 230, width=None) -> alt.LayerChart:
    """Curves over seeds: each seed as a thin faint line, the mean over seeds as a thick one.

    df: one row per (seed, x[, color]) — downsample `x` before calling (a curve needs no more points
    than the chart has pixels)."""
    df, (x, y, color), titles = _plain_fields(df, x, y, color)
    x_title = x_title if x_title is not None else titles[x]
    y_title = y_title if y_title is not None else titles[y]
    yscale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    kw = {}
    if color is not None:
        dom = list(dict.fromkeys(df[color].astype(str)))
        scale = color_scale(colors, dom) if colors else alt.Scale(domain=dom)
        kw["color"] = alt.Color(f"{color}:N", scale=scale, title="")
    whole = pd.api.types.is_integer_dtype(df[x]) and df[x].nunique() <= 12  # layers: no ticks at 1.5, 2.5
    ex = alt.X(f"{x}:Q", title=x_title if x_title is not None else x,
               **({"axis": alt.Axis(tickMinStep=1, format="d")} if whole else {}))
    thin_kw = {"color": kw["color"].legend(None)} if kw else {}  # the legend's swatches from the means, not faded
    thin = alt.Chart(df).mark_line(strokeWidth=1, opacity=0.25).encode(
        x=ex, y=alt.Y(f"{y}:Q", title=y_title if y_title is not None else y, scale=yscale),
        detail="seed:N", **thin_kw, tooltip=[])
    group = [x] + ([color] if color else [])
    mean_df = df.groupby(group, as_index=False, sort=False)[y].mean()
    thick = alt.Chart(mean_df).mark_line(strokeWidth=3).encode(
        x=ex, y=alt.Y(f"{y}:Q", scale=yscale, title=y_title if y_title is not None else y), **kw,
        tooltip=[alt.Tooltip(f"{x}:Q")] + ([f"{color}:N"] if color else []) +
                [alt.Tooltip(f"{y}:Q", format=".3g", title=f"mean {y}")])
    props = {"height": height, "title": title}
    if width is not None:
        props["width"] = width
    return alt.layer(thin, thick).properties(**props)


def evidence_chart(ev, stat: str, *, title: str = "", x_title: str | None = None, ref: float | None = 0.0,
                   height: int = 110, width=None) -> alt.LayerChart:
    """A claim's per-seed statistic as a strip: one dot per seed (filled when the claim held for that
    seed), the mean as a tick, and a reference line (0 for a difference)."""
    df = ev.table[["seed", stat, "held"]].copy()
    df["held"] = np.where(df["held"], "held", "did not hold")
    dom = ["held", "did not hold"]
    ex = alt.X(f"{stat}:Q", title=x_title if x_title is not None else stat, scale=alt.Scale(zero=False))
    dots = alt.Chart(df).mark_point(size=110, filled=True, opacity=0.8).encode(
        x=ex, color=alt.Color("held:N", scale=color_scale(HELD_COLORS, dom), title="",
                              legend=alt.Legend(orient="top")),
        tooltip=["seed:O", alt.Tooltip(f"{stat}:Q", format=".3g"), "held:N"])
    mean = alt.Chart(pd.DataFrame({"mean": [ev[stat]]})).mark_tick(thickness=3, size=40, color=INK).encode(
        x=alt.X("mean:Q"), tooltip=[alt.Tooltip("mean:Q", format=".3g")])
    layers = [dots, mean]
    if ref is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"ref": [ref]})).mark_rule(color=REFERENCE, strokeDash=[4, 4])
                      .encode(x="ref:Q"))
    props = {"height": height, "title": title or f"{ev.of}"}
    if width is not None:
        props["width"] = width
    return alt.layer(*layers).properties(**props)
