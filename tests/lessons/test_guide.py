"""lessons/guide.py: the course-wide pages' step links resolve, and the field guide's live checks
agree with the closed form (a uniform guess over K = 10 classes costs ln 10 = 2.303 nats)."""
import math
import os

import pytest

from engine.cache import SHIPPED_DIR, Cache
from lessons import guide
from lessons.claims import fill
from lessons.words import Words

PAGES = ("glossary", "field_guide")


def every_text(name):
    """Every string of a page's words file, English edition (templates, before any value is filled)."""
    return Words(name, lang="en").keys("en")


@pytest.mark.parametrize("name", PAGES)
def test_every_step_link_names_a_lesson_and_a_step_that_exist(name):
    index = guide.steps_by_lesson()
    found = 0
    for key, text in every_text(name).items():
        assert not guide.broken_links(text, index), f"{name}.md, {key}: {guide.broken_links(text, index)}"
        found += len(guide.links_in(text))
    assert found >= 20


@pytest.mark.parametrize("name", PAGES)
def test_resolved_links_carry_the_step_id_and_no_wiki_link_is_left(name):
    index = guide.steps_by_lesson()
    for key, text in every_text(name).items():
        out = guide.resolve(text, lambda **v: f"{v['number']}:{v['title']}", index=index)
        assert "[[" not in out, key
        for lid, sid in guide.links_in(text):
            title = index[lid]["steps"][sid]
            assert f"[{index[lid]['number']}:{title}]({lid}?step={sid})" in out


def test_a_broken_link_is_reported_and_left_visible():
    index = guide.steps_by_lesson()
    lesson = next(iter(index))
    text = f"[[{lesson}:no_such_step]] and [[no_such_lesson:lr]]"
    assert guide.broken_links(text, index) == [f"{lesson}:no_such_step", "no_such_lesson:lr"]
    assert guide.resolve(text, lambda **v: "x", index=index) == text


def test_every_glossary_group_has_terms_and_the_filter_finds_them():
    W = Words("glossary", lang="en")
    groups = [b for b in W.blocks("en").values() if b.kind == "group"]
    terms = [t for b in groups for t in guide.items(W(f"{b.id}.terms"))]
    assert len(groups) >= 4 and len(terms) >= 40
    assert all(guide.links_in(t) for t in terms), [t[:40] for t in terms if not guide.links_in(t)]
    for word in ("learning rate", "epoch", "minibatch", "adam", "momentum", "validation set", "test set", "logit",
                 "softmax", "cross-entropy", "nats", "saturation", "dead unit", "weight decay", "dropout",
                 "batch norm", "early stopping", "overfitting"):
        assert any(guide.matches(t, word) for t in terms), word
    rate = "- **Learning rate** ($\\eta$): ..."
    assert guide.matches(rate, "LEARNING RATE (") and guide.matches(rate, "η") and guide.matches(rate, "eta")
    assert not guide.matches(rate, "λ")


def test_the_recipe_and_the_card_cover_the_issue():
    W = Words("field_guide", lang="en")
    card, recipe = W("field_guide.card"), W("field_guide.recipe")
    rows = [r for r in card.splitlines() if r.startswith("| **")]
    assert len(rows) >= 8 and all(r.count("|") == 5 for r in rows)
    for symptom in ("NaN", "ln K", "validation loss high", "falls, then rises", "Early layers", "ReLU units",
                    "oscillates", "one class"):
        assert any(symptom in r for r in rows), symptom
    steps = guide.items(recipe)
    assert len(steps) >= 8 and all(guide.links_in(s) or "#live-checks" in s for s in steps)


# ---------------------------------------------------------------- the live checks against the closed form


@pytest.fixture(scope="module")
def evidence():
    return guide.evidence()  # the shipped runs (tests/conftest.py gives a fresh local cache)


@pytest.mark.skipif(os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() in ("0", "off", "no"),
                    reason="the shipped cache is switched off (ENGINE_SHIPPED_CACHE=off)")
def test_the_checks_runs_are_shipped():
    shipped = Cache(local_dir=SHIPPED_DIR, shipped_dir=None)
    missing = [e for e in guide.experiments() if shipped.get(e) is None]
    assert not missing, f"{len(missing)} runs missing: python -m engine.precompute lessons.registry:all_experiments"


def test_initial_loss_is_ln_k_when_the_logits_start_small(evidence):
    assert guide.K == 10 and guide.LN_K == pytest.approx(2.302585, abs=1e-6)
    ev = evidence["init_ln_k"]
    assert ev.stands and ev.held == 10
    assert ev["small"] == pytest.approx(math.log(10), abs=0.005)
    assert ev.hi["gap"] < 0.01
    assert ev.lo["excess"] > 0.2  # He initialisation starts above a uniform guess in every seed


def test_all_zero_weights_start_exactly_at_ln_k_and_stay(evidence):
    from engine import run_many

    zeros = [r for r in run_many([guide.init_runs(s)[2] for s in guide.STUCK_LN_K.seeds])]
    for r in zeros:  # zero logits: softmax is uniform, the loss is ln 10 to float precision
        assert float(r.history["train_loss"].iloc[0]) == pytest.approx(math.log(10), abs=1e-5)
    ev = evidence["stuck_ln_k"]
    assert ev.stands and ev.held == 10
    assert ev["zeros_end"] == pytest.approx(math.log(10), abs=0.01) and ev["he_end"] < 0.5


def test_one_batch_is_overfitted(evidence):
    ev = evidence["overfit_batch"]
    assert ev.stands and ev.held == 10
    assert ev["end"] < 0.01 and ev["acc"] == 1.0 and ev["start"] > 2 * ev["end"]
    assert ev["val"] > 100 * ev["end"]  # memorised, not generalised


def test_the_notes_quote_measured_numbers(evidence):
    W = Words("field_guide", lang="en")
    for key, values in (("init_note", {"ln_k": guide.LN_K}), ("stuck_note", {"steps": guide.INIT_STEPS}),
                        ("overfit_note", {"steps": guide.OVERFIT_STEPS})):
        text = fill(W(f"field_guide.{key}", **values), evidence)
        assert "{" not in text, text
    assert "2.303" in W("field_guide.live_intro", ln_k=guide.LN_K)


def test_the_claims_hold_when_retrained():  # about 10 s on two CPU cores
    for cid, ev in guide.evidence(cache=False).items():
        assert ev.stands, (cid, ev.table)
