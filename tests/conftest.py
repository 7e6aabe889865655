"""Shared fixtures: the shipped default LeNet (pycompress/models/), identical on every machine."""
from __future__ import annotations

import json
import os
import resource
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
# compiled C simulations shared by every test, xdist worker and CLI child: one g++ run per kernel source
os.environ.setdefault("PYCOMPRESS_CSIM_CACHE", str(REPO / "build" / "test-cache" / "csim"))


@pytest.fixture(scope="session")
def lenet_state_dict() -> dict[str, torch.Tensor]:
    from pycompress.frontends.shipped import default_lenet

    return default_lenet()


@pytest.fixture(scope="session")
def lenet_path(lenet_state_dict) -> Path:
    from pycompress.frontends.shipped import LENET_WEIGHTS

    return LENET_WEIGHTS


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point (`python -m pycompress`) in a child process: forked from a server that
    has imported torch already (tests/forked_cli.py; PYCOMPRESS_TEST_CLI=fresh starts a new interpreter)."""
    from forked_cli import run

    return run([str(a) for a in args], cwd=cwd)


def searchable_folder(prefix: str = "pycompress-test-") -> Path:
    """A fresh folder in the system temp folder that other accounts may enter (mode 0711): the PostgreSQL
    server runs as an unprivileged account when the tests run as root, and pytest's own tmp_path sits in
    a private (0700) folder it cannot enter. pgserver checks that, never grants it."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o711)
    return d


@pytest.fixture()
def open_tmp() -> Path:
    import shutil

    d = searchable_folder()
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- scheduling under pytest-xdist (make test: -n auto; `--dist loadfile --no-loadscope-reorder` in pyproject) ----
# A test module is one unit on one worker: its module- and session-scoped fixtures are built once. (loadgroup
# would allow finer groups, but with pytest 9.2 its xdist_group marks are silently ignored: pytest-xdist #1386.)
# Order: the slowest module first, by the CPU seconds of its tests in tests/durations.json; a test missing from
# the file counts SLOW_GUESS seconds when it has a tool or slow marker, else FAST_GUESS. Refresh the file after
# adding slow tests:
#   ./.venv/bin/python -m pytest -n 2 -m "not long" --save-durations tests/durations.json
DURATIONS = Path(__file__).with_name("durations.json")
SLOW_MARKS = ("slow", "long", "sim", "csim", "yosys", "postgres")
SLOW_GUESS, FAST_GUESS = 5.0, 0.2


def pytest_addoption(parser):
    parser.addoption("--save-durations", metavar="PATH", default=None,
                     help="write each test's seconds (wall and CPU incl. subprocesses, setup+call+teardown) "
                          "as JSON: tests/durations.json orders the test modules under xdist")


def _guess(item) -> float:
    return SLOW_GUESS if any(item.get_closest_marker(m) for m in SLOW_MARKS) else FAST_GUESS


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):
        return  # without xdist the file order is kept
    seconds = {k: v["cpu"] for k, v in json.loads(DURATIONS.read_text()).items()} if DURATIONS.is_file() else {}
    cost: dict[str, float] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        cost[module] = cost.get(module, 0.0) + seconds.get(item.nodeid, _guess(item))
    items.sort(key=lambda item: -cost[item.nodeid.split("::")[0]])  # stable: a module's tests keep their order


def _cpu_seconds() -> float:
    """This process's CPU seconds and its waited-for children's, the commands forked by run_cli included."""
    import forked_cli

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + forked_cli.CHILD_CPU[0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.config.getoption("--save-durations"):
        item.stash[_CPU_START] = _cpu_seconds()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "teardown" and _CPU_START in item.stash:
        report.user_properties.append(("cpu_s", round(_cpu_seconds() - item.stash[_CPU_START], 3)))
    return report


_CPU_START = pytest.StashKey[float]()
_RECORDED: dict[str, dict[str, float]] = {}


def pytest_runtest_logreport(report):
    rec = _RECORDED.setdefault(report.nodeid, {"wall": 0.0, "cpu": 0.0})
    rec["wall"] += report.duration
    rec["cpu"] += dict(report.user_properties).get("cpu_s", 0.0) if report.when == "teardown" else 0.0


def pytest_sessionfinish(session):
    path = session.config.getoption("--save-durations")
    if path and not hasattr(session.config, "workerinput"):
        slow = [f"{json.dumps(k)}: {json.dumps({'cpu': round(v['cpu'], 2), 'wall': round(v['wall'], 2)})}"
                for k, v in sorted(_RECORDED.items()) if max(v.values()) >= 0.5]
        Path(path).write_text("{\n" + ",\n".join(slow) + "\n}\n")
