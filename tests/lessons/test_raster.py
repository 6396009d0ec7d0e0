"""Maps drawn as one image (lessons/raster.py): the colours are Vega's, the PNG is a PNG, the picture
sits where the cells did.

The reference colours were sampled from Vega's own drawing in Debian Chromium (Streamlit 1.67's
Vega-Lite, canvas renderer): a row of 21 rectangles with values 0, 0.05, ..., 1 under a
quantitative colour scale with `range` PROBABILITY_RANGE (interpolated in HCL) and under the
schemes viridis, blueorange and greys (vega-scale's stops, interpolated in RGB). Pixels read off a
screenshot of that page."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from engine import data as D
from engine.config import DataSpec
from lessons import charts, raster
from lessons.theme import CLASS_COLORS, PROBABILITY_RANGE

T = np.arange(21) / 20
DRAWN_BY_VEGA = {
    "range": [(0, 114, 178), (55, 126, 185), (83, 139, 192), (106, 152, 199), (128, 165, 206), (148, 178, 213),
              (168, 191, 220), (188, 205, 226), (208, 219, 233), (227, 233, 240), (247, 247, 247), (248, 238, 225),
              (249, 229, 204), (248, 220, 182), (247, 211, 161), (246, 202, 140), (244, 193, 118), (241, 185, 96),
              (238, 176, 73), (234, 168, 47), (230, 159, 0)],
    "viridis": [(68, 1, 84), (72, 20, 103), (72, 37, 117), (70, 53, 128), (65, 68, 135), (59, 82, 139), (53, 96, 141),
                (47, 108, 142), (42, 120, 142), (37, 133, 142), (33, 145, 141), (31, 156, 138), (34, 168, 132),
                (48, 180, 124), (67, 191, 113), (93, 201, 99), (122, 209, 81), (154, 217, 61), (188, 223, 39),
                (222, 228, 27), (253, 231, 37)],
    "blueorange": [(19, 75, 133), (33, 98, 156), (47, 120, 179), (70, 141, 191), (93, 162, 203), (125, 182, 214),
                   (157, 202, 225), (184, 216, 232), (210, 229, 239), (226, 235, 237), (242, 240, 235),
                   (247, 232, 211), (252, 224, 186), (252, 208, 151), (251, 191, 116), (242, 169, 82), (232, 147, 47),
                   (215, 126, 30), (197, 105, 13), (175, 90, 10), (153, 74, 7)],
    "greys": [(226, 226, 226), (219, 219, 219), (212, 212, 212), (204, 204, 204), (196, 196, 196), (187, 187, 187),
              (177, 177, 177), (167, 167, 167), (157, 157, 157), (147, 147, 147), (136, 136, 136), (127, 127, 127),
              (117, 117, 117), (108, 108, 108), (98, 98, 98), (88, 88, 88), (77, 77, 77), (65, 65, 65), (53, 53, 53),
              (42, 42, 42), (30, 30, 30)],
}


def test_a_colour_range_is_interpolated_as_vega_draws_it():
    assert raster.ramp(T, PROBABILITY_RANGE).tolist() == [list(c) for c in DRAWN_BY_VEGA["range"]]


@pytest.mark.parametrize("scheme", ["viridis", "blueorange", "greys"])
def test_a_scheme_is_interpolated_as_vega_draws_it(scheme):
    assert raster.ramp(T, raster.scheme_stops(scheme), "rgb").tolist() == [list(c) for c in DRAWN_BY_VEGA[scheme]]


def _image_row(spec: dict) -> dict:
    (rows,) = [rows for rows in spec["datasets"].values() if "url" in rows[0]]
    (row,) = rows
    return row


def _decode(url: str) -> np.ndarray:
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


@pytest.mark.parametrize("channels", [3, 4])
def test_png_is_read_back_by_pillow(channels):
    px = np.random.default_rng(0).integers(0, 256, (7, 5, channels)).astype(np.uint8)
    assert (np.asarray(Image.open(io.BytesIO(raster.png(px)))) == px).all()


def test_colour_cells_maps_values_names_and_gaps():
    v = np.array([[0.0, 0.5], [1.0, np.nan]])
    rgba = raster.colour_cells(v, colours=PROBABILITY_RANGE, domain=(0, 1))
    assert rgba[0, 0].tolist() == [0, 114, 178, 255] and rgba[0, 1].tolist() == [247, 247, 247, 255]
    assert rgba[1, 0].tolist() == [230, 159, 0, 255] and rgba[1, 1, 3] == 0  # no value: not drawn
    # a scheme over the data's own range (Vega's default domain)
    s = raster.colour_cells(np.array([[2.0, 4.0]]), scheme="viridis")
    assert s[0, 0, :3].tolist() == [68, 1, 84] and s[0, 1, :3].tolist() == [253, 231, 37]
    n = raster.colour_cells(np.array([["class 0", "class 2", "class 9"]]), names=dict(CLASS_COLORS))
    assert n[0, 0].tolist() == [0, 114, 178, 255] and n[0, 1].tolist() == [0, 158, 115, 255] and n[0, 2, 3] == 0


def test_the_picture_spans_the_cells_with_its_first_row_at_the_top():
    rgba = np.zeros((3, 5, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, :3] = (255, 0, 0)  # the cell at (x0, y0): bottom left on the chart
    spec = raster.image_grid((0, 4, 10, 12), rgba).to_dict()
    row = _image_row(spec)
    assert (row["x"], row["x2"], row["y"], row["y2"]) == (-0.5, 4.5, 9.5, 12.5)  # centres +- half a cell
    img = _decode(row["url"])
    assert img.shape == (3, 5, 3)  # opaque: RGB
    assert img[-1, 0].tolist() == [255, 0, 0] and img[0, 0].tolist() == [0, 0, 0]
    assert spec["mark"]["type"] == "image" and spec["mark"]["clip"] is True


def test_a_decision_surface_is_one_image_of_its_probabilities():
    ny, nx = 20, 30
    prob = np.tile(np.linspace(0, 1, nx), (ny, 1))  # P(class 1) rising left to right
    split = D.load(DataSpec(name="moons", n=60, seed=0))
    spec = charts.decision_surface(prob, (-1, 1, -1, 1), split).to_dict()
    image, points = spec["layer"]
    assert image["mark"]["type"] == "image" and image["mark"]["opacity"] == 0.6
    assert points["mark"]["type"] == "point"
    img = _decode(_image_row(spec)["url"])
    assert img.shape == (ny, nx, 3)
    assert img[0, 0].tolist() == [0, 114, 178] and img[-1, -1].tolist() == [230, 159, 0]
    assert (img == img[:1]).all()  # every row alike: the map varies along x only
    classes = charts.decision_surface(np.array([[0, 1], [2, np.nan]]), (-1, 1, -1, 1), multiclass=True).to_dict()
    img = _decode(_image_row(classes)["url"])
    assert img.shape == (2, 2, 4)  # one cell with no class: transparent, so RGBA
    assert img[1, 0].tolist() == [0, 114, 178, 255] and img[0, 1, 3] == 0  # the top row is y1
