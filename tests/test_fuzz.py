"""The fuzz smoke: a bounded number of seeded mutation cases of every parser, each in a
child process under a 4 GiB address-space limit (tests/_fuzz.py). Fails on any signal,
hang, PanicException or exception outside the documented types, naming the case that
reproduces it (``scripts/fuzz --target T --seed S --case K``).

``FUZZ_CASES`` sets the cases per target (default 2000), ``FUZZ_SEED`` the seed.
"""

from __future__ import annotations

import os

import _fuzz
import pytest

CASES = int(os.environ.get("FUZZ_CASES", "2000"))
SEED = int(os.environ.get("FUZZ_SEED", "20261130"))


@pytest.mark.parametrize("target", _fuzz.TARGETS)
def test_fuzz_smoke(target: str) -> None:
    pytest.importorskip("PIL")
    if target == "arrow":
        pytest.importorskip("pyarrow")
    findings = [str(f) for f in _fuzz.run(target, SEED, 0, CASES)]
    assert not findings, "\n".join(findings)


def test_cases_are_deterministic() -> None:
    for target in _fuzz.TARGETS:
        if target == "arrow":
            continue
        assert repr(_fuzz.case_input(target, 1, 7)) == repr(_fuzz.case_input(target, 1, 7))


def test_the_harness_pins_crashes_to_their_case() -> None:
    # Inputs of "_selftest" are 0..7; find a seed whose cases 0..9 include a 3 and a 5.
    seed = next(
        s for s in range(1000) if {3, 5} <= {_fuzz.case_input("_selftest", s, k) for k in range(10)}
    )
    findings = list(_fuzz.run("_selftest", seed, 0, 10))
    inputs = [_fuzz.case_input("_selftest", seed, k) for k in range(10)]
    aborted = [f.case for f in findings if "exit status -6" in f.what]
    bad = [f.case for f in findings if "KeyError" in f.what]
    assert aborted and all(inputs[k] == 3 for k in aborted)
    assert bad and all(inputs[k] == 5 for k in bad)
    # After an abort the child is restarted past the case: every 3 is found.
    assert sorted(aborted) == [k for k in range(10) if inputs[k] == 3]
