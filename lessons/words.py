"""A lesson's words, kept as Markdown next to the code and keyed by step id.

Every sentence a learner reads lives in `lessons/text/<language>/<module>.md`; the lesson module
holds controls, runs, demos and claims. Demos ask for their captions, labels and notes by key with
named values (`W.text("chain.caption", depth=12)`), so a translation (`COURSE_LANG=pt`, a file
under `lessons/text/pt/`) changes no Python. A file reads like this:

    # lesson
    ## title
    Vanishing gradients
    ## summary / ## intro
    ...
    ## strings                       (lesson-wide short strings, one per line)
    - diverged: diverged at step {step}

    # step chain                     (one block per step, in any order)
    ## title
    The chain of derivatives
    ## slide                         (one or two sentences: what the slide says and asks)
    ## equation                      (the one key equation, LaTeX without $$)
    ## notes                         (speaker notes: the narrative and the full derivation)
    ## notice                        ("what to notice": claims quoted as {claim_id.of} etc.)
    ## question                      (repeatable: the prompt, then one option per "- [ ]";
    A question?                       the right one is "- [x]"; the indented lines under an
    - [ ] a wrong option              option explain it)
      Why it is wrong.
    - [x] the right option
      Why it is right.
    ## strings
    - caption: One path through {depth} layers.
    ## long_note                     (any other section: a multi-line string, key "chain.long_note")

Placeholders in demo strings are `{name}` or `{name:fmt}`; only names the caller passes are
replaced, so LaTeX braces (`0.25^{20}`) pass through. Claims' placeholders (`{id.of}`) are filled by
`lessons.claims.fill`, later, from measured evidence.
"""
from __future__ import annotations

import dataclasses
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

TEXT_DIR = Path(__file__).resolve().parent / "text"
DEFAULT_LANG = "en"
STEP_SECTIONS = ("title", "slide", "equation", "notes", "worked", "predict", "notice", "question", "strings")
LESSON_SECTIONS = ("title", "summary", "intro", "recap", "strings")


def language() -> str:
    """The edition in use: COURSE_LANG (e.g. "pt"), else English. A file missing in that language
    falls back to English file by file, a string missing in it key by key."""
    lang = os.environ.get("COURSE_LANG", DEFAULT_LANG).strip().lower()
    return lang if lang.isidentifier() else DEFAULT_LANG


def strict() -> bool:
    """In tests (COURSE_WORDS_STRICT=1) a missing value for a placeholder raises; in the app it is left visible."""
    return os.environ.get("COURSE_WORDS_STRICT", "") not in ("", "0")


class Text(str):
    """A finished string that remembers the key and values it was made from (for a translator or a test)."""

    key: str
    values: dict

    def __new__(cls, text: str, key: str = "", values: Optional[dict] = None):
        obj = super().__new__(cls, text)
        obj.key, obj.values = key, dict(values or {})
        return obj


# `{name}` or `{name:fmt}`, but not a LaTeX group: `\\mathrm{net}`, `x^{20}`, `\\frac{1}{2}` follow a letter, ^, _ or }
_NAMED = re.compile(r"(?<![\\\w^_}])\{([A-Za-z_]\w*)(?::([^{}]*))?\}")


def names_in(template: str) -> set[str]:
    """The placeholder names `template` uses (LaTeX groups such as `x^{20}` or `\\mathrm{net}` are not names)."""
    return {m.group(1) for m in _NAMED.finditer(template or "")}


def fill_values(template: str, values: dict, key: str = "") -> str:
    """Replace `{name}` and `{name:fmt}` for the names in `values`; everything else passes through."""

    def sub(m: re.Match) -> str:
        name, fmt = m.group(1), m.group(2)
        if name not in values:
            return m.group(0)
        try:
            return format(values[name], fmt or "")
        except (ValueError, TypeError):  # a format that does not suit the value (e.g. {n:.2f} on a str)
            if strict():
                raise
            return str(values[name])

    out = _NAMED.sub(sub, template)
    if strict():
        missing = names_in(template) - set(values)
        if missing:
            raise KeyError(f"{key or template[:40]!r} needs values for {sorted(missing)}")
    return out


# ---------------------------------------------------------------- parsing


@dataclasses.dataclass
class Block:
    """One `# lesson` or `# step <id>` block: its sections in file order."""

    kind: str  # "lesson", "step" or another top-level word (e.g. "interface")
    id: str
    sections: list  # [(name, text)]

    def get(self, name: str, default: str = "") -> str:
        for n, t in self.sections:
            if n == name:
                return t
        return default

    def all(self, name: str) -> list[str]:
        return [t for n, t in self.sections if n == name]

    def strings(self) -> dict[str, str]:
        """Every string of the block by key: the `strings` list items and the sections (of a step block,
        those that are not its words: title, slide, ...). Parsed once (the interface asks on every run)."""
        cached = self.__dict__.get("_strings")
        if cached is None:
            cached = self.__dict__["_strings"] = self._parse_strings()
        return cached

    def _parse_strings(self) -> dict[str, str]:
        known = STEP_SECTIONS if self.kind == "step" else ("strings",)
        out: dict[str, str] = {}
        for name, text in self.sections:
            if name == "strings":
                out.update(_string_list(text, f"{self.kind} {self.id}"))
            elif name not in known:
                out[name] = text
        return out


class WordsError(ValueError):
    """A lesson's Markdown does not parse, or does not match its code."""


def _string_list(text: str, where: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^- ([A-Za-z_]\w*):\s?(.*)$", line)
        if m is None:
            if out and line.startswith("  "):  # a long value continued on an indented line
                last = list(out)[-1]
                out[last] = f"{out[last]} {line.strip()}"
                continue
            raise WordsError(f"{where}: a strings line must read '- key: text', not {line!r}")
        if m.group(1) in out:
            raise WordsError(f"{where}: string {m.group(1)!r} is given twice")
        out[m.group(1)] = m.group(2).strip()
    return out


def parse(text: str, source: str = "<text>") -> list[Block]:
    """Split a lesson's Markdown into blocks (`# ...`) and sections (`## ...`), trimming blank edges."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    blocks: list[Block] = []
    section: Optional[list] = None
    fence = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"^# \S", line):
            head = line[2:].split()
            kind, bid = head[0], " ".join(head[1:])
            if kind == "step" and not bid:
                raise WordsError(f"{source}:{n}: '# step' needs an id")
            blocks.append(Block(kind, bid or kind, []))
            section = None
            continue
        if not fence and re.match(r"^## \S", line):
            if not blocks:
                raise WordsError(f"{source}:{n}: a section before any '# lesson' or '# step <id>' block")
            section = [line[3:].strip(), []]
            blocks[-1].sections.append(section)
            continue
        if section is None:
            if line.strip():
                raise WordsError(f"{source}:{n}: text outside a '## section': {line[:60]!r}")
            continue
        section[1].append(line)
    for b in blocks:
        b.sections = [(name, "\n".join(lines).strip("\n").rstrip()) for name, lines in b.sections]
    ids = [b.id for b in blocks]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise WordsError(f"{source}: blocks given twice: {sorted(dup)}")
    return blocks


def parse_question(text: str, where: str = ""):
    """A `## question` section: the prompt, then `- [ ]` / `- [x]` options with indented explanations."""
    from lessons.walkthrough import Question

    prompt: list[str] = []
    options: list[list] = []  # [option text, [explanation lines], right?]
    for line in text.splitlines():
        m = re.match(r"^- \[( |x|X)\] (.*)$", line)
        if m:
            options.append([m.group(2).strip(), [], m.group(1).lower() == "x"])
        elif options and (line.startswith("  ") or not line.strip()):
            options[-1][1].append(line.strip())
        elif options:
            raise WordsError(f"{where}: after the options, lines must be indented explanations: {line!r}")
        else:
            prompt.append(line)
    right = [i for i, o in enumerate(options) if o[2]]
    if len(options) < 2 or len(right) != 1:
        raise WordsError(f"{where}: a question needs two or more options and exactly one marked [x]")
    return Question(" ".join(s.strip() for s in prompt if s.strip()), tuple(o[0] for o in options), right[0],
                    tuple(" ".join(s for s in o[1] if s) for o in options))


# ---------------------------------------------------------------- the words of one lesson


@lru_cache(maxsize=None)
def _blocks(path: Path) -> Optional[dict]:
    """A file's blocks by id, read once per process (None when there is no such file)."""
    if not path.is_file():
        return None
    return {b.id: b for b in parse(path.read_text(encoding="utf-8"), str(path))}


class Words:
    """The words of one lesson (or of the interface), read from `<folder>/<language>/<name>.md`.

    A key missing from a translation falls back to English, so a partial edition still runs."""

    def __init__(self, name: str, folder: Path = TEXT_DIR, lang: Optional[str] = None):
        self.name, self.folder = name, Path(folder)
        self.lang = lang or language()

    def path(self, lang: Optional[str] = None) -> Path:
        return self.folder / (lang or self.lang) / f"{self.name}.md"

    def blocks(self, lang: Optional[str] = None) -> dict[str, Block]:
        lang = lang or self.lang
        path = self.path(lang)
        found = _blocks(path)
        if found is None:
            if lang != DEFAULT_LANG:
                return self.blocks(DEFAULT_LANG)
            raise WordsError(f"missing {path}: a lesson's words live there")
        return found

    def _lookup(self, key: str) -> str:
        block, _, name = key.rpartition(".")
        for lang in dict.fromkeys((self.lang, DEFAULT_LANG)):
            b = self.blocks(lang).get(block or "lesson")
            if b is not None:
                strings = b.strings()
                if name in strings:
                    return strings[name]
        raise KeyError(f"{self.path(DEFAULT_LANG).name}: no string {key!r} (add it under '# step {block}' "
                       f"as '- {name}: ...' in its '## strings')")

    def text(self, key: str, /, **values) -> Text:
        """The string `key` ("<step id>.<name>", or "<name>" for the lesson's own strings) with `values` filled in."""
        return Text(fill_values(self._lookup(key), values, key), key, values)

    __call__ = text

    def has(self, key: str) -> bool:
        try:
            self._lookup(key)
            return True
        except KeyError:
            return False

    def keys(self, lang: Optional[str] = None) -> dict[str, str]:
        """Every string of the file as {"<block>.<name>": template} (the lesson block's without a prefix)."""
        out = {}
        for bid, b in self.blocks(lang).items():
            for name, t in b.strings().items():
                out[name if bid == "lesson" else f"{bid}.{name}"] = t
        return out

    def step_words(self, step_id: str) -> dict:
        """The fields of `Step` that come from words: title, slide, equation, notes, notice, questions."""
        en = self.blocks(DEFAULT_LANG).get(step_id)
        if en is None or en.kind != "step":
            raise WordsError(f"{self.path(DEFAULT_LANG).name}: no '# step {step_id}' block")
        b = self.blocks().get(step_id) or en
        where = f"{self.path().name}, step {step_id}"

        def section(name: str) -> str:  # a translation's missing section falls back to English
            return b.get(name) or en.get(name)

        asked = b.all("question") or en.all("question")
        guess = section("predict")
        return dict(title=section("title").strip(), slide=section("slide"), equation=_bare_latex(section("equation")),
                    notes=section("notes"), notice=section("notice"), worked=section("worked"),
                    predict=parse_question(guess, where + " (predict)") if guess.strip() else None,
                    questions=tuple(parse_question(q, where) for q in asked))

    def lesson(self, *, id: str, number: int, steps: Iterable, references: tuple = ()):
        """The `Lesson`: each step (declared in code by id, controls, runs, demo, presets, claims) gets its
        words from the file, and a block of the file with no step in the code is an error."""
        from lessons.walkthrough import Lesson

        steps = tuple(steps)
        blocks = self.blocks(DEFAULT_LANG)
        code_ids = [s.id for s in steps]
        extra = [b.id for b in blocks.values() if b.kind == "step" and b.id not in code_ids]
        if extra:
            raise WordsError(f"{self.path(DEFAULT_LANG).name}: steps {extra} have words but no code")
        if "lesson" not in blocks:
            raise WordsError(f"{self.path(DEFAULT_LANG).name}: no '# lesson' block")
        worded = tuple(dataclasses.replace(s, **self.step_words(s.id)) for s in steps)
        head = self.blocks().get("lesson") or blocks["lesson"]
        return Lesson(id=id, number=number, title=head.get("title").strip(), summary=_one_line(head.get("summary")),
                      intro=head.get("intro"), recap=head.get("recap") or blocks["lesson"].get("recap"),
                      steps=worded, references=tuple(references), words=self)


def _bare_latex(text: str) -> str:
    t = text.strip()
    if t.startswith("$$") and t.endswith("$$"):
        t = t[2:-2].strip()
    return t


def _one_line(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=None)
def interface(lang: Optional[str] = None) -> Words:
    """The app's own strings (buttons, notices, labels): lessons/text/<language>/interface.md."""
    return Words("interface", lang=lang)


__all__ = ["Text", "Words", "WordsError", "Block", "parse", "parse_question", "fill_values", "names_in",
           "language", "interface", "TEXT_DIR"]
