"""Charts several lessons draw: decision surfaces of 2-D classifiers and learning curves.

Plain functions from engine results to Altair charts (no Streamlit), so a notebook can call them.
"""
from __future__ import annotations

import json
import re

import altair as alt
import numpy as np
import pandas as pd

from engine import data as D
from engine.results import Result
from lessons.raster import colour_cells, image_grid
from lessons.theme import CLASS_COLORS, HELD_COLORS, INK, PROBABILITY_RANGE, REFERENCE, SPLIT_COLORS, color_scale


def cell_grid(extent, shape, *, edges=("x", "x2", "y", "y2"), centres=None, anchor: str = "centre",
              **values) -> alt.Chart:
    """A map on an (ny, nx) grid of cells as a chart ready for `mark_rect` that sends only the cells'
    `values`, in order: Vega-Lite numbers the rows and computes each cell's edges (the fields named
    `edges`: x, x2, y, y2) and, with `centres=(x name, y name)`, its centre. `extent` (x0, x1, y0, y1)
    holds the first and last centres, as `np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))`
    lays them out; each value array is (ny, nx) in that order (or flat: its `.ravel()`). A cell spans
    its centre ± half a step (`anchor="centre"`) or its centre to one step on (`anchor="start"`).

    A finite float map travels as 16-bit levels between its least and greatest value (2 bytes a cell;
    the level is off by at most 1/131070 of the map's range, far below a colour step) that the chart
    turns back into values; string values (class names) as categories (issue #12: a 50 x 50 map
    sends about 5 KB instead of 100 KB)."""
    ny, nx = shape
    x0, x1, y0, y1 = (float(v) for v in extent)
    dx, dy = (x1 - x0) / (nx - 1), (y1 - y0) / (ny - 1)
    cols, calc = {}, {}
    for k, v in values.items():
        v = np.asarray(v).ravel()
        if len(v) != nx * ny:
            raise ValueError(f"cell_grid: {k} has {len(v)} values for {ny} x {nx} cells")
        if v.dtype.kind == "f" and np.all(np.isfinite(v)):
            lo, hi = float(v.min()), float(v.max())
            step = (hi - lo) / 65535 if hi > lo else 0.0
            q = np.zeros(len(v)) if step == 0 else np.round((v.astype(np.float64) - lo) / step)
            cols[f"{k}_level"] = q.astype(np.uint16)
            calc[k] = f"{lo!r} + datum.{k}_level * {step!r}"
        elif v.dtype.kind == "f":
            cols[k] = v.astype(np.float32)
        else:
            cols[k] = v
    cx = f"({x0!r} + (datum.cell % {nx}) * {dx!r})"
    cy = f"({y0!r} + floor(datum.cell / {nx}) * {dy!r})"
    lo, hi = (dx / 2, dy / 2), (dx / 2, dy / 2)
    if anchor == "start":
        lo, hi = (0.0, 0.0), (dx, dy)
    calc.update({edges[0]: f"{cx} - {lo[0]!r}", edges[1]: f"{cx} + {hi[0]!r}",
                 edges[2]: f"{cy} - {lo[1]!r}", edges[3]: f"{cy} + {hi[1]!r}"})
    if centres:
        calc.update({centres[0]: cx, centres[1]: cy})
    # row_number counts from 1 in the order the rows came (the window has no sort)
    return (alt.Chart(pd.DataFrame(cols)).transform_window(row="row_number()")
            .transform_calculate(cell="datum.row - 1").transform_calculate(**calc))


def equal_axes(extent, height: int) -> dict:
    """Width and height (px) for a map of `extent` (x0, x1, y0, y1) whose axes keep one scale: a unit
    on x as long as a unit on y, when the chart is drawn as `Chart(..., square=True)`."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    return {"height": int(height), "width": int(round(height * (x1 - x0) / (y1 - y0)))}


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
    if multiclass:
        names = [f"class {int(v)}" if np.isfinite(v) else "" for v in np.asarray(prob, dtype=float).ravel()]
        rgba = colour_cells(np.array(names).reshape(prob.shape), names=dict(CLASS_COLORS))
    else:
        # no gradient legend: it crowds the plot when Streamlit fits the chart to its column; captions
        # say "blue: class 0, orange: class 1, pale: unsure" instead
        rgba = colour_cells(prob, colours=PROBABILITY_RANGE, domain=(0, 1))
    # one picture, not a rectangle per cell (lessons/raster.py: the browser draws it in a third of the time)
    base = image_grid(extent, rgba, opacity=0.45 if multiclass else 0.6).encode(
        x=alt.X("x:Q", scale=xs, title="x1"), x2="x2:Q", y=alt.Y("y:Q", scale=ys, title="x2"), y2="y2:Q")
    layers = [base]
    if split is not None:
        pts = points_frame(split)
        present = sorted(pts["label"].unique())
        layers.append(alt.Chart(pts).mark_point(filled=True, size=34, strokeWidth=0.8, stroke=INK).encode(
            x=alt.X("x1:Q", scale=xs), y=alt.Y("x2:Q", scale=ys),
            fill=alt.Fill("label:N", scale=color_scale(CLASS_COLORS, present),
                          legend=alt.Legend(title="", orient="bottom", columns=2, columnPadding=6, symbolSize=90)
                          if legend else None),
            shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "triangle-up"]),
                            legend=alt.Legend(title="", orient="bottom", columns=2, columnPadding=6, symbolSize=90)
                            if legend else None),
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


# ---------------------------------------------------------------- only what the eye can see (issue #12)

CURVE_POINTS = 200  # at most this many points per curve: a chart is 300-600 px wide


def downsample(df: pd.DataFrame, x: str, y: str | tuple = (), by=(), n: int = CURVE_POINTS) -> pd.DataFrame:
    """The rows of `df` a line chart of `y` against `x` needs, per series (`by`: the columns that
    split it into lines), at most about `n` per series: each series' x range is cut into n / 4
    equal buckets and each bucket keeps its first and last row and the rows of its lowest and
    highest `y` (for each y column), so spikes and the ends stay where they were (the M4 rule: at
    one bucket per pixel column the drawn line is the same). Series of at most `n` rows stay whole;
    rows keep their order."""
    ys = [y] if isinstance(y, str) else list(y)
    by = [by] if isinstance(by, str) else list(by)
    if len(df) <= n:
        return df
    keep = np.zeros(len(df), dtype=bool)
    groups = df.groupby(by, sort=False).indices.values() if by else [np.arange(len(df))]
    for idx in groups:
        if len(idx) <= n:
            keep[idx] = True
            continue
        xv = pd.to_numeric(df[x].iloc[idx], errors="coerce").to_numpy(dtype=float)
        lo, hi = np.nanmin(xv), np.nanmax(xv)
        nb = max(1, n // (2 + 2 * max(1, len(ys))))
        b = np.zeros(len(idx), dtype=int) if hi <= lo else np.clip(((xv - lo) / (hi - lo) * nb).astype(int), 0, nb - 1)
        b = np.where(np.isfinite(xv), b, -1)
        frame = pd.DataFrame({"b": b, "pos": np.arange(len(idx))})
        chosen = [frame.groupby("b").pos.first(), frame.groupby("b").pos.last()]
        for c in ys:
            frame["v"] = pd.to_numeric(df[c].iloc[idx], errors="coerce").to_numpy(dtype=float)
            ok = frame.dropna(subset=["v"])
            chosen += [ok.loc[ok.groupby("b").v.idxmin(), "pos"], ok.loc[ok.groupby("b").v.idxmax(), "pos"]]
        keep[idx[np.unique(np.concatenate([np.asarray(c) for c in chosen]))]] = True
        keep[idx[~np.isfinite(xv)]] = True  # what is not on the x axis is not ours to drop
    return df[keep]


def thin_path(df: pd.DataFrame, x: str, y: str, by=(), tol: tuple | float = 0.0) -> pd.DataFrame:
    """A 2-D path (rows in drawing order) without the points that move less than `tol` (in x, y
    units; a pixel's worth or less) from the last point kept: an optimizer resting at the minimum
    sends one point, not hundreds. The first and last point of each path always stay."""
    by = [by] if isinstance(by, str) else list(by)
    tx, ty = (tol, tol) if np.isscalar(tol) else tol
    keep = np.zeros(len(df), dtype=bool)
    groups = df.groupby(by, sort=False).indices.values() if by else [np.arange(len(df))]
    xs, ys = df[x].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    for idx in groups:
        last = None
        for k in idx:
            if last is None or not (abs(xs[k] - xs[last]) < tx and abs(ys[k] - ys[last]) < ty):
                keep[k] = True
                last = k
        keep[idx[-1]] = True
    return df[keep]


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
        axis = {"axis": alt.Axis(labelAngle=label_angle, **({"labelLimit": label_limit} if label_limit else {}),
                                 # slanted names do not collide, though their boxes do: keep every one
                                 **({"labelOverlap": False} if label_angle else {}))}
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

    df: one row per (seed, x[, color]). The mean is taken over all rows; then each curve sends at most
    CURVE_POINTS points (`downsample`: a curve needs no more points than the chart has pixels)."""
    df, (x, y, color), titles = _plain_fields(df, x, y, color)
    x_title = x_title if x_title is not None else titles[x]
    y_title = y_title if y_title is not None else titles[y]
    yscale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    kw = {}
    if color is not None:
        dom = list(dict.fromkeys(df[color].astype(str)))
        scale = color_scale(colors, dom) if colors else alt.Scale(domain=dom)
        # the legend's swatches opaque: they stand for the thick means, not the faded single runs
        kw["color"] = alt.Color(f"{color}:N", scale=scale, title="", legend=alt.Legend(symbolOpacity=1))
    whole = pd.api.types.is_integer_dtype(df[x]) and df[x].nunique() <= 12  # layers: no ticks at 1.5, 2.5
    ex = alt.X(f"{x}:Q", title=x_title if x_title is not None else x,
               **({"axis": alt.Axis(tickMinStep=1, format="d")} if whole else {}))
    group = [x] + ([color] if color else [])
    mean_df = df.groupby(group, as_index=False, sort=False)[y].mean()
    series = [color] if color else []
    df = downsample(df, x, y, by=["seed"] + series)
    mean_df = downsample(mean_df, x, y, by=series)
    thin = alt.Chart(df).mark_line(strokeWidth=1, opacity=0.25).encode(
        x=ex, y=alt.Y(f"{y}:Q", title=y_title if y_title is not None else y, scale=yscale),
        detail="seed:N", **kw, tooltip=[])
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


# ---------------------------------------------------------------- what a chart sends (issue #12)

_PARTS = ("layer", "hconcat", "vconcat", "concat")
F32_RANGE = (1e-30, 1e30)  # float32 keeps ~7 significant digits in this range: far below what a chart shows
F32_MIN_ROWS = 100  # smaller frames keep float64: a few hundred bytes are not worth a tooltip's 0.10000000149


def _map_frames(node, fn):
    """A copy of an Altair chart with every pandas DataFrame it holds (at any level) replaced by fn(df)."""
    if not isinstance(node, alt.SchemaBase):
        return node
    out = node.copy(deep=False)
    data = getattr(node, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        out.data = fn(data)
    for name in _PARTS:
        parts = getattr(node, name, alt.Undefined)
        if isinstance(parts, list):
            setattr(out, name, [_map_frames(p, fn) for p in parts])
    spec = getattr(node, "spec", alt.Undefined)
    if isinstance(spec, alt.SchemaBase):
        out.spec = _map_frames(spec, fn)
    return out


def _nice(v: np.ndarray) -> bool:
    """Values a person typed or a grid made (0.004, 2.5, 1e-3): they keep float64, so a tooltip, an
    ordinal label or a filter sees exactly that number, not its float32 neighbour."""
    v = v[np.isfinite(v) & (v != 0)]
    if v.size == 0:
        return True
    scale = 10.0 ** np.floor(np.log10(np.abs(v)))
    m = v / scale
    return bool(np.all(np.abs(m - np.round(m, 4)) <= 1e-9 * np.abs(m)))


def _float32_inside(v: np.ndarray, groups=()) -> np.ndarray:
    """v as float32, each least and greatest value (of the column, and of each group of rows that share a
    category) rounded inwards, never outwards: a scale's domain (and its nice ends: 1e-6 is not
    9.99999997e-07, which would add a decade to a log axis) stays where the float64 values put it."""
    out = v.astype(np.float32)
    ok = np.isfinite(v)
    if not ok.any():
        return out
    parts = [np.flatnonzero(ok)]
    for g in groups:
        codes = np.asarray(g.cat.codes)
        if g.cat.categories.size <= 64:
            parts += [np.flatnonzero(ok & (codes == k)) for k in range(g.cat.categories.size)]
    for idx in parts:
        if idx.size == 0:
            continue
        lo, hi = idx[v[idx] == v[idx].min()], idx[v[idx] == v[idx].max()]  # every row at the extreme (a floor)
        down, up = lo[out[lo] < v[lo]], hi[out[hi] > v[hi]]
        out[down] = np.nextafter(out[down], np.float32(np.inf))
        out[up] = np.nextafter(out[up], np.float32(-np.inf))
    return out


def compact_frame(df: pd.DataFrame, keep=None) -> pd.DataFrame:
    """`df` in the narrowest types that keep every value a chart shows: only the columns in `keep`
    (all when None), a plain 0..n-1 index (a filtered frame's index would be sent as a column),
    integers in the smallest integer type, measured floats in frames of F32_MIN_ROWS rows or more as
    float32 (about 7 significant digits, extremes rounded inwards so scales keep their domains; values
    outside 1e-30..1e30, such as an underflow demo's 1e-300, and typed or grid values such as 0.004
    stay float64), and repeated strings as categories (sent once, with a small code per row). The
    values a chart reads (Vega-Lite sees numbers and strings) are those of `df` to float32 precision."""
    cols = [c for c in df.columns if keep is None or c in keep]
    out = df[cols].reset_index(drop=True) if cols != list(df.columns) or not isinstance(
        df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1 else df.copy()
    for c in out.columns:  # strings first: the float columns below keep each category's extremes
        col = out[c]
        if col.dtype.kind in "OT" or isinstance(col.dtype, pd.StringDtype):
            vals = col.to_numpy(dtype=object)
            if all(isinstance(x, str) for x in vals) and len(set(vals)) < max(2, len(vals) // 2):
                out[c] = col.astype(object).astype("category")
    for c in out.columns:
        col = out[c]
        kind = col.dtype.kind
        if kind in "iu":
            out[c] = pd.to_numeric(col, downcast="unsigned" if kind == "u" else "integer")
        elif kind == "f" and col.dtype.itemsize > 4:
            v = col.to_numpy()
            fin = np.abs(v[np.isfinite(v) & (v != 0)])
            if (len(v) >= F32_MIN_ROWS and fin.size and F32_RANGE[0] <= fin.min() and fin.max() <= F32_RANGE[1]
                    and not _nice(v)):
                cats = [out[g] for g in out.columns if isinstance(out[g].dtype, pd.CategoricalDtype)]
                out[c] = _float32_inside(v, cats)
    return out


def _arrow(df: pd.DataFrame):
    """`df` as an Arrow table without pandas' schema notes (which columns were the index, the pandas
    version: about 500 bytes a data set that no chart reads); Altair and Streamlit take it as they
    take a DataFrame. A frame Arrow cannot take stays as it is."""
    try:
        import pyarrow as pa

        return pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    except Exception:  # noqa: BLE001
        return df


def lean(chart):
    """`chart` as it should travel to the browser: each data frame with only the columns the spec names
    (a field, a tooltip, a transform, an expression), in compact types (`compact_frame`), as an Arrow
    table (`_arrow`). What is drawn does not change. A column counts as named when its name appears
    anywhere in the spec, so nothing drawn can be dropped (at worst an unused column whose name is
    also some other word stays)."""
    if not isinstance(chart, alt.TopLevelMixin):
        return chart
    frames: dict[int, pd.DataFrame] = {}

    def probe(df):  # the frame without its rows: the spec as written, with no column names from the data
        frames[id(df)] = df
        return df.iloc[:0]

    try:
        text = json.dumps(_map_frames(chart, probe).to_dict(validate=False), ensure_ascii=False, default=str)
    except Exception:  # noqa: BLE001 - a chart this cannot read is sent as it came
        return chart
    if not frames:
        return chart
    def named(c) -> bool:
        return not isinstance(c, str) or c in text or json.dumps(c)[1:-1] in text

    done = {k: _arrow(compact_frame(df, keep={c for c in df.columns if named(c)})) for k, df in frames.items()}
    return _map_frames(chart, lambda df: done[id(df)])
