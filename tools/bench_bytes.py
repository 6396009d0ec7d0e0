"""What each step's default view sends to the browser: chart specs (with their data) and tables.

    python tools/bench_bytes.py [--top 10]

Opens every step of every lesson in Present mode under Streamlit's AppTest (the shipped cache
answers) and adds up the protobuf bytes of the charts and tables the page sends (`ByteSize()` of
each element: the Vega-Lite spec with its data, the table). A lesson's Self-paced page sends the
sum of its steps. Prints per lesson and the heaviest steps, against issue #12's budgets (a step
<= 100 KB, a lesson <= 250 KB). Bytes are deterministic, unlike times.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP_BUDGET, LESSON_BUDGET = 100_000, 250_000


KINDS = ("vega_lite_chart", "arrow_vega_lite_chart", "arrow_data_frame", "dataframe")


def step_bytes(at, lesson_id: str, step_id: str) -> int:
    at.query_params.clear()
    at.query_params.update({"mode": "present", "step": step_id})
    at.run()
    return sum(e.proto.ByteSize() for kind in KINDS for e in at.get(kind))


def lesson_bytes(entry) -> dict[str, int]:
    """{step id: bytes its default Present view sends} for one `lessons.registry` entry, in step order
    (one AppTest for the whole lesson). Their sum is what the lesson's Self-paced page sends."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(entry.page)
    return {s.id: step_bytes(at, entry.lesson.id, s.id) for s in entry.lesson.steps}


def main(argv=None) -> None:
    from lessons import registry

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=10, help="list the heaviest N steps")
    a = ap.parse_args(argv)
    rows = []
    for e in registry.entries():
        sizes = lesson_bytes(e)
        rows += [(n, e.lesson.id, sid) for sid, n in sizes.items()]
        total = sum(sizes.values())
        flag = "over" if total > LESSON_BUDGET else "ok"
        print(f"lesson {e.lesson.number} {e.lesson.id:<22} {total / 1000:8.1f} KB  ({flag} the 250 KB budget)")
    over = [r for r in rows if r[0] > STEP_BUDGET]
    print(f"\nsteps over 100 KB: {len(over)} of {len(rows)}; heaviest:")
    for n, lid, sid in sorted(rows, reverse=True)[:a.top]:
        print(f"  {n / 1000:8.1f} KB  {lid}?step={sid}")


if __name__ == "__main__":
    main()
