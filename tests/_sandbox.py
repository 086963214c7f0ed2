"""Running a snippet in a fresh interpreter under an address-space limit and a timeout.

Used by the hostile-input tests and the fuzz smoke: an abort (SIGABRT from a failed
infallible allocation), a segfault or a hang in the snippet is seen as a signal or a
timeout of the child, never takes down the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

#: The address-space limit of a sandboxed child (bytes): enough for the interpreter,
#: numpy and the extension, far below what an unchecked allocation sized by hostile
#: input asks for.
ADDRESS_SPACE = 4 << 30

_PRELUDE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
def _report(outcome, detail=""):
    sys.stdout.write("\\n@@RESULT@@" + json.dumps({{"outcome": outcome, "detail": detail}}))
    sys.stdout.flush()
try:
{body}
except BaseException as _e:  # noqa: BLE001 - the outcome is what the test checks
    _report(type(_e).__module__ + "." + type(_e).__qualname__, str(_e)[:2000])
else:
    _report("ok")
"""


@dataclass
class Outcome:
    """What a sandboxed snippet did: ``kind`` is "ok", the qualified exception name
    (e.g. "builtins.MemoryError"), "signal N" or "timeout"."""

    kind: str
    detail: str
    stderr: str

    @property
    def crashed(self) -> bool:
        return self.kind.startswith("signal") or self.kind in ("timeout", "no result")


def run(
    code: str,
    *,
    timeout: float = 60.0,
    limit: int = ADDRESS_SPACE,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Runs ``code`` (a statement block) in a child interpreter under ``limit`` bytes of
    address space; returns how it ended."""
    body = textwrap.indent(textwrap.dedent(code).strip() or "pass", "    ")
    script = _PRELUDE.format(limit=limit, body=body)
    child_env = dict(os.environ)
    # One thread: no pool stacks in the address space, and deterministic memory use.
    child_env.setdefault("SA1B_RLE_NUM_THREADS", "1")
    if env:
        child_env.update(env)
    try:
        p = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Outcome("timeout", "", err)
    if p.returncode < 0:
        return Outcome(f"signal {-p.returncode}", "", p.stderr)
    marker = p.stdout.rfind("@@RESULT@@")
    if marker < 0:
        return Outcome("no result", f"exit {p.returncode}", p.stderr)
    r = json.loads(p.stdout[marker + len("@@RESULT@@") :])
    return Outcome(r["outcome"], r["detail"], p.stderr)
