"""The shared study's storage helpers: what a lost database looks like to the user."""
from __future__ import annotations

import subprocess
import sys
import textwrap

# Optuna's own heartbeat thread, fed a heartbeat that fails the way a stopped server makes it fail.
# Run in a child: pytest replaces threading.excepthook during a test.
SCRIPT = textwrap.dedent("""
    import sys, sqlalchemy.exc
    from optuna.storages._heartbeat import HeartbeatThread
    from pycompress.sharing.explore_storage import make_storage

    make_storage("sqlite:///" + sys.argv[1], heartbeat=1)

    class Heartbeat:
        def get_heartbeat_interval(self):
            return 1
        def record_heartbeat(self, trial_id):
            raise ERROR

    ERROR = {error}
    t = HeartbeatThread(0, Heartbeat())
    t.start()
    t._thread.join()
    print("main thread goes on", flush=True)
""")


def run_heartbeat(tmp_path, error: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(error=error), str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=120)


def test_heartbeat_thread_losing_the_server_prints_no_traceback(tmp_path):
    r = run_heartbeat(tmp_path, 'sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))')
    assert r.returncode == 0 and r.stdout == "main thread goes on\n"
    assert r.stderr == ""


def test_heartbeat_thread_other_errors_still_reported(tmp_path):
    r = run_heartbeat(tmp_path, 'ValueError("a bug, not a lost server")')
    assert r.stdout == "main thread goes on\n"
    assert "Traceback" in r.stderr and "ValueError: a bug, not a lost server" in r.stderr
