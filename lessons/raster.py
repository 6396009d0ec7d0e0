"""Maps drawn as one picture: a grid of cells coloured here and sent as a PNG for one image mark.

A map drawn as Vega-Lite rectangles makes the browser build, encode and paint one mark per cell:
2,500 of them took about 0.14 s to draw on 2 cores, most of a decision-map chart's time and a
third of a lesson page's (issue #12). The same grid as one `mark_image` takes one mark; its PNG is
smaller than the cells' values were (about 2 KB for 50 x 50 cells).

The colours are the ones Vega would have drawn: a quantitative scale with a `range` of colours
interpolates piecewise in HCL (Vega-Lite's default `interpolate` for colour), a named `scheme`
piecewise in RGB through the scheme's stops (vega-scale's continuous schemes, whose stops are
copied in `SCHEMES`), a nominal scale maps each name to its colour. `tests/lessons/test_raster.py`
checks the ramps against colours sampled from Vega's own drawing in Chromium.
"""
from __future__ import annotations

import base64
import struct
import zlib

import altair as alt
import numpy as np
import pandas as pd

# vega-scale's continuous schemes used by the course's maps: their stops, as vega-scale lists them
SCHEMES = {
    "viridis": "440154470e61481a6c482575472f7d443a834144873d4e8a39568c35608d31688e2d708e2a788e27818e23888e21918d1f"
               "988b1fa08822a8842ab07f35b77943bf7154c56866cc5d7ad1518fd744a5db36bcdf27d2e21be9e51afde725",
    "blueorange": "134b852f78b35da2cb9dcae1d2e5eff2f0ebfce0bafbbf74e8932fc5690d994a07",
    "greys": "e2e2e2d4d4d4c4c4c4b1b1b19d9d9d8888887575756262624d4d4d3535351e1e1e",
}


def hex_rgb(colour: str) -> np.ndarray:
    """A colour written #RRGGBB as its [red, green, blue] levels (floats, 0-255)."""
    c = colour.lstrip("#")
    return np.array([int(c[k:k + 2], 16) for k in (0, 2, 4)], dtype=np.float64)


def scheme_stops(name: str) -> list[str]:
    s = SCHEMES[name.lower()]
    return ["#" + s[k:k + 6] for k in range(0, len(s), 6)]


# CIE Lab with a D50 white, as d3-color (which Vega uses) converts sRGB
_WHITE = (0.96422, 1.0, 0.82521)
_T0, _T1 = 4 / 29, 6 / 29
_T2, _T3 = 3 * _T1 * _T1, _T1 ** 3


def _to_linear(v):
    v = np.asarray(v, dtype=np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _from_linear(v):
    return 255 * np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.abs(v) ** (1 / 2.4) - 0.055)


def _f(t):
    return np.where(t > _T3, np.cbrt(t), t / _T2 + _T0)


def _f_inv(t):
    return np.where(t > _T1, t ** 3, _T2 * (t - _T0))


def _hcl(colour: str) -> tuple[float, float, float]:
    """(hue in degrees or NaN for a grey, chroma, luminance) of a colour, as d3-color's `hcl`."""
    r, g, b = _to_linear(hex_rgb(colour))
    y = _f((0.2225045 * r + 0.7168786 * g + 0.0606169 * b) / _WHITE[1])
    if r == g == b:
        x = z = y
    else:
        x = _f((0.4360747 * r + 0.3850649 * g + 0.1430804 * b) / _WHITE[0])
        z = _f((0.0139322 * r + 0.0971045 * g + 0.7141733 * b) / _WHITE[2])
    lum, a, bb = 116 * y - 16, 500 * (x - y), 200 * (y - z)
    if a == 0 and bb == 0:
        return float("nan"), 0.0 if 0 < lum < 100 else float("nan"), float(lum)
    return float(np.degrees(np.arctan2(bb, a)) % 360), float(np.hypot(a, bb)), float(lum)


def _between(a: float, b: float, t: np.ndarray, hue: bool = False) -> np.ndarray:
    """d3-interpolate's linear blend: a missing end (NaN, a grey's hue) takes the other's value; a hue
    goes the short way round."""
    if np.isnan(a) or np.isnan(b):
        return np.full_like(t, b if np.isnan(a) else a)
    d = b - a
    if hue and abs(d) > 180:
        d -= 360 * round(d / 360)
    return a + d * t


def _hcl_blend(c0: str, c1: str, t: np.ndarray) -> np.ndarray:
    (h0, ch0, l0), (h1, ch1, l1) = _hcl(c0), _hcl(c1)
    h = np.radians(_between(h0, h1, t, hue=True))
    chroma, lum = _between(ch0, ch1, t), _between(l0, l1, t)
    y = (lum + 16) / 116
    x, z = y + np.cos(h) * chroma / 500, y - np.sin(h) * chroma / 200
    x, y, z = _WHITE[0] * _f_inv(x), _WHITE[1] * _f_inv(y), _WHITE[2] * _f_inv(z)
    return np.stack([_from_linear(3.1338561 * x - 1.6168667 * y - 0.4906146 * z),
                     _from_linear(-0.9787684 * x + 1.9161415 * y + 0.0334540 * z),
                     _from_linear(0.0719453 * x - 0.2289914 * y + 1.4052427 * z)], axis=-1)


def ramp(t, colours: list[str], space: str = "hcl") -> np.ndarray:
    """Colours (..., 3) uint8 at positions `t` in [0, 1] (clipped) along `colours`, piecewise: in HCL
    (`space="hcl"`, a Vega-Lite quantitative scale with a `range`) or in RGB (`"rgb"`, a scheme)."""
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64)), 0.0, 1.0)
    n = len(colours) - 1
    piece = np.clip(np.floor(t * n), 0, n - 1).astype(int)
    out = np.zeros(t.shape + (3,))
    for k in range(n):
        m = piece == k
        local = t[m] * n - k
        if space == "hcl":
            out[m] = _hcl_blend(colours[k], colours[k + 1], local)
        else:
            c0, c1 = hex_rgb(colours[k]), hex_rgb(colours[k + 1])
            out[m] = c0 + (c1 - c0) * local[:, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)  # JavaScript's Math.round: halves up


def png(pixels: np.ndarray) -> bytes:
    """A PNG of an (h, w, 3) RGB or (h, w, 4) RGBA uint8 array, row 0 at the top (8 bits, no filter)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w, ch = pixels.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * ch)], axis=1)  # filter byte 0

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if ch == 3 else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + chunk(b"IEND", b""))


def value_range(values, domain=None) -> tuple[float, float]:
    """`domain` as two floats, or else the finite values' least and greatest (0, 1 when there are none):
    Vega's default domain for a colour scale that is not rounded to nice numbers."""
    if domain is not None:
        lo, hi = domain
        return float(lo), float(hi)
    v = np.asarray(values, dtype=np.float64)
    ok = v[np.isfinite(v)]
    return (float(ok.min()), float(ok.max())) if ok.size else (0.0, 1.0)


def colour_cells(values: np.ndarray, *, colours: list[str] | None = None, scheme: str | None = None,
                 domain=None, names: dict[str, str] | None = None) -> np.ndarray:
    """An (ny, nx) map's colours, (ny, nx, 4) RGBA: a quantitative map along `colours` (HCL) or a
    `scheme` (RGB) over `domain` (default: the finite values' range), or `names` mapping each string
    value to its colour. A cell with no value (NaN, a name with no colour) is transparent, as Vega
    leaves an invalid value undrawn."""
    values = np.asarray(values)
    rgba = np.zeros(values.shape + (4,), np.uint8)
    if names is not None:
        for name, colour in names.items():
            rgba[values == name] = (*hex_rgb(colour).astype(np.uint8), 255)
        return rgba
    v = values.astype(np.float64)
    ok = np.isfinite(v)
    lo, hi = value_range(v, domain)
    t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    rgba[..., :3] = ramp(t, colours) if colours is not None else ramp(t, scheme_stops(scheme), "rgb")
    rgba[..., 3] = np.where(ok, 255, 0)
    return rgba


def image_grid(extent, rgba: np.ndarray, *, fields=("x", "x2", "y", "y2"), opacity: float = 1.0,
               smooth: bool = True) -> alt.Chart:
    """An (ny, nx) grid of cell colours as one image mark: cell (i, j) centred at
    `np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))`'s point, `extent` (x0, x1, y0, y1)
    holding the first and last centres, row 0 at y0. The picture spans the cells' outer edges and is
    clipped to the plot; `smooth` blends neighbouring cells as the browser scales it up. Encode
    `fields` (x, x2, y, y2) with the chart's scales; the url is encoded here."""
    ny, nx = rgba.shape[:2]
    x0, x1, y0, y1 = (float(v) for v in extent)
    hx, hy = (x1 - x0) / (nx - 1) / 2, (y1 - y0) / (ny - 1) / 2
    opaque = bool((rgba[..., 3] == 255).all())
    pixels = rgba[::-1, :, :3] if opaque else rgba[::-1]  # the picture's first row is the map's top
    url = "data:image/png;base64," + base64.b64encode(png(pixels)).decode("ascii")
    frame = pd.DataFrame({fields[0]: [x0 - hx], fields[1]: [x1 + hx], fields[2]: [y0 - hy], fields[3]: [y1 + hy],
                          "url": [url]})
    return alt.Chart(frame).mark_image(aspect=False, smooth=smooth, clip=True, opacity=opacity).encode(
        url=alt.Url("url:N"), tooltip=alt.value(None))


def legend_only(field: str, title: str, scale: alt.Scale, ends) -> alt.Chart:
    """A layer that draws nothing and keeps a quantitative colour legend beside an image map (an image
    mark has no colour channel): `ends`, the two ends of `scale`'s domain."""
    return alt.Chart(pd.DataFrame({field: [float(v) for v in ends]})).mark_point(opacity=0, size=0).encode(
        color=alt.Color(f"{field}:Q", title=title, scale=scale), tooltip=alt.value(None))


def value_map(extent, values, *, x: alt.X, y: alt.Y, scheme: str | None = None, colours: list[str] | None = None,
              domain=None, title: str | None = None, opacity: float = 1.0) -> list[alt.Chart]:
    """An (ny, nx) map of numbers (row 0 at y0; see `image_grid`) as layers: the image, encoded with
    `x` and `y` (fields "x" and "y": give them the chart's scales and titles), and, with a `title`,
    an invisible layer that keeps its colour legend. Colours along `colours` (HCL) or a `scheme`
    over `domain` (default: the finite values' range, not rounded to nice numbers)."""
    ends = value_range(values, domain)
    rgba = colour_cells(values, colours=colours, scheme=scheme, domain=ends)
    layers = [image_grid(extent, rgba, opacity=opacity).encode(x=x, x2="x2:Q", y=y, y2="y2:Q")]
    if title is not None:
        scale = (alt.Scale(scheme=scheme, domain=list(ends), nice=False, zero=False) if scheme
                 else alt.Scale(range=colours, domain=list(ends), nice=False, zero=False))
        layers.append(legend_only("value", title, scale, ends))
    return layers
