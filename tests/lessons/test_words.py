"""The lessons' words live in Markdown keyed by step id (lessons/words.py): the parser, the
placeholders, the language fallback, and for every registered lesson that each step has its words,
that every edition has the same keys and placeholders as the English one, and that no long prose is
left in Python."""
import ast
import re
from pathlib import Path

import pytest

from lessons import registry
from lessons.claims import placeholders
from lessons.words import TEXT_DIR, Words, WordsError, fill_values, names_in, parse, parse_question

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TEXT = ROOT / "tests" / "text"
PROSE_WORDS = 8  # a string literal of this many words or more is prose: it belongs in the Markdown


def test_parse_blocks_sections_and_strings():
    blocks = parse("<!-- a comment -->\n# lesson\n## title\nT\n\n# step a\n## title\nA\n## strings\n"
                   "- cap: one {n} two\n  continued\n- b: x\n## long\nline 1\n\nline 2\n")
    assert [b.id for b in blocks] == ["lesson", "a"]
    a = blocks[1]
    assert a.kind == "step" and a.get("title") == "A"
    assert a.strings() == {"cap": "one {n} two continued", "b": "x", "long": "line 1\n\nline 2"}


@pytest.mark.parametrize("text", ["# step a\n## strings\nnot a list item\n", "stray text\n",
                                  "# step a\n## title\nA\n# step a\n## title\nB\n", "# step\n"])
def test_parse_rejects_malformed_text(text):
    with pytest.raises(WordsError):
        blocks = parse(text)
        for b in blocks:
            b.strings()


def test_question_marks_the_answer_and_keeps_explanations():
    q = parse_question("Is it\nodd?\n- [ ] yes\n  No: 4 = 2 x 2.\n- [x] no\n  Right,\n  it is even.\n")
    assert q.prompt == "Is it odd?" and q.options == ("yes", "no") and q.answer == 1
    assert q.explanations == ("No: 4 = 2 x 2.", "Right, it is even.")
    for bad in ("Q?\n- [ ] a\n- [ ] b\n", "Q?\n- [x] a\n- [x] b\n", "Q?\n- [x] a\n"):
        with pytest.raises(WordsError):
            parse_question(bad)


def test_placeholders_leave_latex_alone():
    t = r"depth {depth}, lr {lr:.3f}, $0.25^{20}$, $\mathrm{net}_k$, $\frac{1}{2}$, {claim.of}"
    assert names_in(t) == {"depth", "lr"}
    assert fill_values(t, {"depth": 3, "lr": 0.1}) == \
        r"depth 3, lr 0.100, $0.25^{20}$, $\mathrm{net}_k$, $\frac{1}{2}$, {claim.of}"


def test_a_missing_value_raises_in_tests(monkeypatch):
    monkeypatch.setenv("COURSE_WORDS_STRICT", "1")
    with pytest.raises(KeyError):
        fill_values("{a} and {b}", {"a": 1})
    monkeypatch.setenv("COURSE_WORDS_STRICT", "0")
    assert fill_values("{a} and {b}", {"a": 1}) == "1 and {b}"  # the app shows it rather than failing


def test_another_language_changes_words_not_code(monkeypatch):
    from tests.sample_lesson import BROKEN, CURVE, INTRO, W

    en = W.lesson(id="s", number=0, steps=(INTRO, CURVE, BROKEN))
    monkeypatch.setenv("COURSE_LANG", "pt")
    pt_words = Words("sample_lesson", folder=SAMPLE_TEXT)
    pt = pt_words.lesson(id="s", number=0, steps=(INTRO, CURVE, BROKEN))
    assert pt.step("curve").title == "Uma curva ao vivo" != en.step("curve").title
    assert pt.step("intro").checks()[0].answer == en.step("intro").checks()[0].answer
    assert pt_words.text("curve.caption", n=4) == "Uma reta, duas vezes (4 pontos cada)."
    assert pt_words.text("curve.caption", n=4).key == "curve.caption"
    assert Words("interface", lang="pt").text("interface.next") == "Next"  # no Portuguese file: English


def _editions(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"*/{name}.md") if p.parent.name != "en")


def _shape(words: Words, lang: str) -> dict:
    """Every block's sections and strings, with the placeholders each uses (what a translation must keep)."""
    out = {}
    for bid, b in words.blocks(lang).items():
        for name, text in b.sections:
            if name == "strings":
                continue
            out.setdefault((bid, name), set()).update(names_in(text) | {m for m in re.findall(r"\{(\w+)[.\[]", text)})
        for key, text in b.strings().items():
            out[(bid, "strings", key)] = names_in(text)
    return out


def _worded():
    yield pytest.param(Words("sample_lesson", folder=SAMPLE_TEXT), id="sample_lesson")
    yield pytest.param(Words("interface"), id="interface")
    yield pytest.param(Words("common"), id="common")
    yield pytest.param(Words("home"), id="home")
    for e in registry.entries():
        if e.lesson.words is not None:
            yield pytest.param(e.lesson.words, id=e.module)


@pytest.mark.parametrize("words", list(_worded()))
def test_every_edition_has_the_english_keys_and_placeholders(words):
    en = _shape(words, "en")
    for path in _editions(words.folder, words.name):
        other = _shape(words, path.parent.name)
        assert set(other) == set(en), f"{path}: sections differ from the English file"
        for k in en:
            assert other[k] == en[k], f"{path}: {k} uses placeholders {other[k]} where English uses {en[k]}"


LESSONS = [pytest.param(e, id=e.module) for e in registry.entries()]


@pytest.mark.parametrize("entry", LESSONS)
def test_every_step_has_its_words(entry):
    lesson = entry.lesson
    assert isinstance(lesson.words, Words), f"lessons/{entry.module}.py: build LESSON with Words.lesson"
    assert lesson.title and lesson.summary and lesson.intro
    for s in lesson.steps:
        assert s.title, s.id
        if s.demo is not None:
            assert s.slide and s.notice, f"{s.id}: a demo step needs '## slide' and '## notice'"
            assert len(s.slide.split()) <= 60, f"{s.id}: the slide's words are a sentence or two, not the notes"
        else:
            assert s.checks() or s.notes or s.slide, s.id
        claims = {c.id for c in s.claims}
        for text in [s.notice] + [t for q in s.checks() for t in (q.prompt, *q.options, *q.explanations)]:
            quoted = set(re.findall(r"\{(\w+)[.\[]", text))
            assert quoted <= claims, f"{s.id}: quotes {quoted - claims}, which are not its claims"
            assert placeholders(text, claims) == quoted


def _prose(tree: ast.AST):
    """String literals (and f-strings) of PROSE_WORDS words or more, outside docstrings and `what=`."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg == "what":  # a claim's one line for developers
            for sub in ast.walk(node.value):
                skip.add(id(sub))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            for sub in ast.walk(node):
                skip.add(id(sub))
            text = "".join(v.value if isinstance(v, ast.Constant) else " X " for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        words = re.findall(r"[A-Za-z]{2,}", text)
        if len(words) >= PROSE_WORDS and not text.lstrip().startswith(("\\", "<")):  # LaTeX, CSS/HTML
            yield node.lineno, text


PY_FILES = [pytest.param(ROOT / "lessons" / f"{e.module}.py", id=e.module) for e in registry.entries()] + \
    [pytest.param(ROOT / "pages" / f"{p}.py", id=f"pages-{p}")
     for p in ("_shared", "welcome", "references", "glossary", "field_guide")] + \
    [pytest.param(ROOT / "lessons" / "guide.py", id="guide")]


@pytest.mark.parametrize("path", PY_FILES)
def test_no_long_prose_left_in_python(path):
    found = list(_prose(ast.parse(path.read_text())))
    assert not found, f"{path.name}: move these to lessons/text/en/*.md: " + \
        "; ".join(f"line {n}: {t[:50]!r}" for n, t in found[:8])


def test_text_files_belong_to_lessons():
    """Each English file is read by a registered lesson or the interface (no orphaned words)."""
    names = {e.module for e in registry.entries()} | {"interface", "home", "common", "glossary", "field_guide"}
    for p in (TEXT_DIR / "en").glob("*.md"):
        assert p.stem in names, p


def test_demo_strings_are_keys_with_values():
    from tests.sample_lesson import LESSON

    caption = LESSON.step("curve").run({"points": 7})[0].caption
    assert caption.key == "curve.caption" and caption.values == {"n": 7}


def test_every_colour_comes_from_the_theme():
    """No hex colour literal outside lessons/theme.py: a concept keeps its colour in every lesson."""
    for path in sorted((ROOT / "lessons").glob("*.py")):
        if path.name == "theme.py":
            continue
        found = re.findall(r"[\"']#[0-9A-Fa-f]{6}[\"']", path.read_text())
        assert not found, f"{path.name}: colours {found[:5]} belong in lessons/theme.py"
