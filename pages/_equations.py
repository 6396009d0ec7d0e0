"""A slide's key equation laid out to fit its place on a 1280x720 screen, without the browser.

On a slide the equation sits beside the words, in a column of 400-520 px, at a projector's size
(KaTeX at 1.6em, about 24 px to an em). Most equations were wider than that: 43 of 56 scrolled inside
their box, their ends cut off on the screen. The slide (pages/_shared.py `_top`) decides,
from an estimate of each part's width, whether the equation fits beside the words as it is, on up to
three lines there (split where the source puts a `\\qquad` between two formulas), or goes under the
words at the slide's full width, whichever leaves the demo more of the screen.

`fit` gives the equation's lines for a width and their height, for the slide's layout and its room.
`width_em` estimates KaTeX's width of a formula in em from its source: a glyph, a relation or an
operator with its spacing, fractions as their wider half, scripts at 70%, text by its letters.
Against every slide equation and its parts as Chromium drew them (151 formulas), the median error is
5%, the largest -15% (too narrow, inside a longer equation) and +45% (too wide, which is safe);
`FIT` leaves room for the former. A browser test checks that no slide's equation is wider than its box.
"""
from __future__ import annotations

import re

PX_PER_EM = 24.1  # a slide's display equation (fitted to Chromium's drawing of the slide equations)
FIT = 0.9  # an estimate must leave 10% of the room: it can be 20% short (an arrow, a \quad)
MAX_LINES = 3  # beside the words; more goes under them at the full width

_SPACE = {"qquad": 2.0, "quad": 1.0, ",": 0.17, ":": 0.22, ";": 0.28, "!": -0.17, " ": 0.33}
_REL = {"le", "leq", "ge", "geq", "approx", "sim", "in", "to", "leftarrow", "rightarrow", "Rightarrow",
        "mapsto", "ne", "neq", "propto", "equiv", "coloneqq", "gets", "Leftarrow",
        "subset", "cup", "cap", "setminus"}
_BIN = {"cdot", "times", "pm", "odot", "circ", "oplus", "otimes", "cdots", "ldots", "dots", "mid"}
_WIDE = {"iff": 3.3, "implies": 3.0, "sum": 1.45,
         "prod": 1.3, "int": 0.9, "max": 1.6, "min": 1.5, "log": 1.3, "exp": 1.5, "arg": 1.4,
         "tanh": 2.1, "sinh": 2.0, "ln": 0.8, "det": 1.3, "tr": 0.9, "lim": 1.3}
_TEXT = {"text": 0.47, "textbf": 0.47, "textit": 0.47, "mathrm": 0.47, "operatorname": 0.47, "texttt": 0.53}
_WRAP = {"mathbf", "mathit", "mathsf", "boldsymbol", "mathcal", "mathbb", "bm", "hat", "tilde", "bar", "vec",
         "widehat", "overline", "underline", "dot", "ddot", "sqrt", "underbrace", "overbrace"}
_NONE = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
         "limits", "nolimits", "scriptstyle", "textstyle", "end"}
_TALL = re.compile(r"\\(d?t?frac|sum|prod|int|underbrace|overbrace|begin|sqrt|binom)\b|\\big|\\Big")


def _group(s: str, i: int) -> tuple[str, int]:
    """The braced group opening at s[i] and the index after it."""
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1:j], j + 1
    return s[i + 1:], len(s)


def _arg(s: str, i: int) -> tuple[str, int]:
    """A command's argument at s[i]: a group, a command or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        return _group(s, i)
    if i < len(s) and s[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", s[i:])
        return m.group(0), i + len(m.group(0))
    return s[i:i + 1], i + 1


def width_em(tex: str) -> float:
    """KaTeX's width of `tex` in display mode, estimated in em."""
    i, total = 0, 0.0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = m.group(1)
            i += len(m.group(0))
            if name in _SPACE:
                total += _SPACE[name]
            elif name in ("frac", "dfrac", "tfrac"):
                top, i = _arg(tex, i)
                bottom, i = _arg(tex, i)
                total += max(width_em(top), width_em(bottom)) * (0.75 if name == "tfrac" else 1) + 0.25
            elif name in _TEXT:
                words, i = _arg(tex, i)
                total += sum(_TEXT[name] * (1.5 if c.isupper() else 0.7 if c == " " else 1) for c in words)
                total += 0.2 if name == "operatorname" else 0
            elif name == "begin":  # an array or cases: its widest cell per column
                env, i = _arg(tex, i)
                end = tex.find(f"\\end{{{env}}}", i)
                end = len(tex) if end < 0 else end
                rows = [r.split("&") for r in tex[i:end].split("\\\\")]
                i = end + len(f"\\end{{{env}}}")
                cols = max(len(r) for r in rows)
                total += sum(max(width_em(r[k]) if k < len(r) else 0 for r in rows) for k in range(cols))
                total += cols + 0.5
            elif name in _WRAP:
                inner, i = _arg(tex, i)
                total += width_em(inner) + (0.85 if name == "sqrt" else 0)
            elif name in _NONE:
                pass
            elif name in _REL:
                total += 1.56
            elif name in _BIN:
                total += 1.24
            else:  # a Greek letter, a symbol
                total += _WIDE.get(name, 0.62)
        elif c in "^_":
            script, i = _arg(tex, i + 1)
            total += 0.7 * width_em(script)
        else:
            i += 1
            if c in "{} ":
                continue
            total += (1.34 if c in "=<>" else 1.22 if c in "+-" else 0.45 if c in ",;" else
                      0.39 if c in "()[]|" else 0.5 if c.isdigit() else 0.72 if c.isupper() else 0.55)
    return total


def parts(tex: str) -> list[str]:
    """`tex` split where a `\\qquad` separates two formulas (outside any group)."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        if depth == 0 and tex.startswith("\\qquad", i) and not tex[i + 6:i + 7].isalpha():
            out.append(tex[start:i])
            i = start = i + 6
            continue
        i += 1
    out.append(tex[start:])
    return [p.strip() for p in out if p.strip()]


def lines(tex: str, width_px: float) -> list[str] | None:
    """`tex` on as few lines as fit `width_px` (formulas kept whole; a short connective such as
    "vs" or an arrow goes with the formula after it), or None when one formula alone is too wide."""
    room = FIT * width_px / PX_PER_EM
    pieces, carry = [], ""
    formulas = parts(tex)
    for k, p in enumerate(formulas):
        if width_em(p) < 2.0 and k < len(formulas) - 1:
            carry += p + r"\quad "
            continue
        pieces.append(carry + p)
        carry = ""
    if carry:
        pieces.append(carry)
    out: list[str] = []
    for p in pieces:
        if out and width_em(out[-1]) + 2.0 + width_em(p) <= room:
            out[-1] += r"\qquad " + p
        else:
            out.append(p)
    return out if all(width_em(line) <= room for line in out) else None


def height_px(line: str) -> int:
    """A display line's height on a slide, with its margins: taller with a fraction or a big operator."""
    return 95 if _TALL.search(line) else 57


def fit(tex: str, width_px: float, max_lines: int = MAX_LINES) -> tuple[str, int] | None:
    """`tex` set on lines that fit `width_px` (a `gathered` when more than one) and its height in px,
    or None when it needs more than `max_lines` lines or one formula alone is too wide."""
    rows = lines(tex, width_px)
    if rows is None or len(rows) > max_lines:
        return None
    tex = rows[0] if len(rows) == 1 else r"\begin{gathered}" + r" \\ ".join(rows) + r"\end{gathered}"
    return tex, sum(map(height_px, rows))
