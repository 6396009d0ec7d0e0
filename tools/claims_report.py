"""Retrain every claim of every lesson over its full seeds and print how often each held.

    ENGINE_SHIPPED_CACHE=off python tools/claims_report.py          # on the engine's device
    ENGINE_DEVICE=cuda ENGINE_SHIPPED_CACHE=off python tools/claims_report.py

Needs only the engine and the lessons (no Streamlit), so it runs on a GPU machine. Exit 1 if a claim
does not stand.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.device import device_info  # noqa: E402
from lessons import registry  # noqa: E402
from lessons.claims import measure  # noqa: E402


def main() -> int:
    info = device_info()
    print(f"device {info['device']} ({info['name']}), torch {info['torch']}", flush=True)
    total, failed, t_all = 0, [], time.perf_counter()
    for e in registry.entries():
        t = time.perf_counter()
        for step in e.lesson.steps:
            if not step.claims:
                continue
            ev = measure(step.claims, cache=False)
            for c in step.claims:
                total += 1
                x = ev[c.id]
                if not x.stands:
                    failed.append(f"{e.module}/{step.id}/{c.id}: {x.of} (needs {x.needed})")
                print(f"  {e.module}/{step.id}/{c.id}: {x.of}", flush=True)
        print(f"{e.module}: {time.perf_counter() - t:.1f} s", flush=True)
    print(f"{total - len(failed)} of {total} claims stand; {time.perf_counter() - t_all:.1f} s")
    for f in failed:
        print("FAILED", f)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
