"""Hermetic tests: the engine's local cache is a fresh folder for each test session, so results
come only from the shipped assets/cache/ or from training, never from a developer's earlier runs.
(Set here, before any engine cache object exists; the e2e server inherits it.)"""
import os
import tempfile

os.environ.setdefault("COURSE_WORDS_STRICT", "1")  # a demo string missing a value fails the test
os.environ["ENGINE_CACHE_DIR"] = tempfile.mkdtemp(prefix="engine-cache-tests-")
