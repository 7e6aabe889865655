"""Optuna's RDB storage, with a trial killed before its first heartbeat counted as stale.

Optuna marks a RUNNING trial stale when its heartbeat is older than the grace period, but a
trial whose worker died between creating it and the heartbeat thread's first beat has no
heartbeat at all and stayed RUNNING forever. Here such a trial is stale once it started more
than the grace period ago (its start is the client's clock, as Optuna records it), so it is
failed and retried like any other.
"""
from __future__ import annotations

from datetime import datetime, timedelta


def storage_class():
    """An optuna.storages.RDBStorage subclass (made on first use: optuna is imported lazily)."""
    import optuna
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import orm

    class HeartbeatStorage(optuna.storages.RDBStorage):
        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            stale = super()._get_stale_trial_ids(study_id)
            grace = timedelta(seconds=self.grace_period or 2 * self.heartbeat_interval)
            now = datetime.now()
            with _create_scoped_session(self.scoped_session, True) as session:
                running = (session.query(models.TrialModel).options(orm.selectinload(models.TrialModel.heartbeats))
                           .filter(models.TrialModel.state == optuna.trial.TrialState.RUNNING)
                           .filter(models.TrialModel.study_id == study_id).all())
                silent = [t.trial_id for t in running if not t.heartbeats and t.datetime_start is not None
                          and now - t.datetime_start > grace]
            return stale + [t for t in silent if t not in stale]

    return HeartbeatStorage
