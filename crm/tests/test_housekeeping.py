from __future__ import annotations

import sqlite3

import pytest

from crm.maintenance import optimize_database, prune_broker
from crm.tasks import housekeeping


def test_prune_broker_deletes_only_delivered_messages(tmp_path):
    path = tmp_path / "broker.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE kombu_message (id INTEGER PRIMARY KEY, visible BOOLEAN, payload TEXT)")
    db.executemany(
        "INSERT INTO kombu_message (visible, payload) VALUES (?, ?)",
        [(0, "done"), (0, "done"), (1, "waiting")],
    )
    db.commit()
    db.close()
    assert prune_broker(f"sqla+sqlite:///{path}") == 2
    remaining = sqlite3.connect(path).execute("SELECT payload FROM kombu_message").fetchall()
    assert remaining == [("waiting",)]


def test_prune_broker_ignores_other_brokers_and_fresh_files(tmp_path):
    assert prune_broker("redis://localhost:6379/0") == 0
    assert prune_broker(f"sqla+sqlite:///{tmp_path / 'new.sqlite3'}") == 0


@pytest.mark.django_db
def test_housekeeping_task_is_registered_and_runs(settings, tmp_path):
    from crm.celery import app

    settings.CELERY_BROKER_URL = f"sqla+sqlite:///{tmp_path / 'b.sqlite3'}"
    app.loader.import_default_modules()
    assert "crm.tasks.housekeeping" in app.tasks
    optimize_database()
    housekeeping.apply().get()
