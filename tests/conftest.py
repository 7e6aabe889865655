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


# ---- scheduling under pytest-xdist (make test: -n auto --dist loadgroup, set in pyproject's addopts) -------
# Groups: a test that uses a module- or session-scoped fixture defined in its own module joins the group of
# that module (`xdist_group`), so one worker builds the fixture once instead of each worker building its own;
# an explicit xdist_group marker is kept. Order: slowest unit first (a group counts as the sum of its tests),
# by the CPU seconds recorded in tests/durations.json; tests not in the file follow in file order, filling
# the gaps. Refresh the file after adding slow tests:
#   ./.venv/bin/python -m pytest -n 2 -m "not long" --save-durations tests/durations.json
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser):
    parser.addoption("--save-durations", metavar="PATH", default=None,
                     help="write each test's seconds (wall and CPU incl. subprocesses, setup+call+teardown) "
                          "as JSON: tests/durations.json orders the tests under xdist")


def _plain(nodeid: str) -> str:
    """The node id without the `@group` suffix xdist's loadgroup adds."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def _shared_fixture_group(item) -> str | None:
    module = item.nodeid.split("::")[0]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        if defs and defs[-1].scope in ("module", "package", "session") and defs[-1].baseid == module:
            return module
    return None


def _unit(item) -> str:
    mark = item.get_closest_marker("xdist_group")
    return f"@{mark.args[0] if mark.args else mark.kwargs.get('name', 'default')}" if mark else item.nodeid


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = None if item.get_closest_marker("xdist_group") else _shared_fixture_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    if not hasattr(config, "workerinput") or not DURATIONS.is_file():
        return  # without xdist the file order is kept
    seconds = {k: v["cpu"] for k, v in json.loads(DURATIONS.read_text()).items()}
    cost: dict[str, float] = {}
    for item in items:
        cost[_unit(item)] = cost.get(_unit(item), 0.0) + seconds.get(_plain(item.nodeid), 0.0)
    items.sort(key=lambda item: -cost[_unit(item)])  # stable: equal costs keep file order


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
    rec = _RECORDED.setdefault(_plain(report.nodeid), {"wall": 0.0, "cpu": 0.0})
    rec["wall"] += report.duration
    rec["cpu"] += dict(report.user_properties).get("cpu_s", 0.0) if report.when == "teardown" else 0.0


def pytest_sessionfinish(session):
    path = session.config.getoption("--save-durations")
    if path and not hasattr(session.config, "workerinput"):
        slow = {k: {"wall": round(v["wall"], 2), "cpu": round(v["cpu"], 2)} for k, v in sorted(_RECORDED.items())
                if max(v.values()) >= 0.5}
        Path(path).write_text(json.dumps(slow, indent=0, sort_keys=True) + "\n")
