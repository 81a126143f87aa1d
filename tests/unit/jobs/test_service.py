"""Celery configured from the settings: embedded default, production brokers, eager mode."""

from __future__ import annotations

from pathlib import Path

from forms_service.jobs.service import broker_settings, make_celery
from forms_service.runtime import JOBS


def test_embedded_default_needs_no_server(tmp_path: Path) -> None:
    config = broker_settings({"VAR_DIR": str(tmp_path)})
    assert config["broker_url"] == "filesystem://"
    folders = config["broker_transport_options"]
    assert (
        folders["data_folder_in"] == folders["data_folder_out"] == str(tmp_path / "jobs" / "queue")
    )
    assert (tmp_path / "jobs" / "queue").is_dir() and (tmp_path / "jobs" / "processed").is_dir()
    assert config["result_backend"] == f"db+sqlite:///{tmp_path / 'jobs' / 'results.sqlite'}"
    # A job is acknowledged only once done: a dead worker's page is delivered again.
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["task_always_eager"] is False
    # A stuck job frees its slot after five minutes, or JOBS_TIME_LIMIT_SECONDS.
    assert config["task_time_limit"] == 300
    limited = broker_settings({"VAR_DIR": str(tmp_path), "JOBS_TIME_LIMIT_SECONDS": "45"})
    assert limited["task_time_limit"] == 45


def test_production_broker_with_a_key_prefix(tmp_path: Path) -> None:
    config = broker_settings(
        {
            "VAR_DIR": str(tmp_path),
            "JOBS_BROKER_URL": "redis://broker:6379/3",
            "JOBS_RESULT_BACKEND": "redis://broker:6379/4",
            "JOBS_REDIS_PREFIX": "forms:",
        }
    )
    assert config["broker_url"] == "redis://broker:6379/3"
    assert config["result_backend"] == "redis://broker:6379/4"
    assert config["broker_transport_options"] == {
        "global_keyprefix": "forms:",
        "visibility_timeout": 600.0,  # a killed worker's page comes back in minutes
        "unacked_restore_interval": 10.0,  # looked for every 10 s (not every 100 s)
        "unacked_restore_throttle": 1,
    }
    assert not (tmp_path / "jobs").exists()


def test_every_job_is_registered_and_runs_eagerly_with_the_given_runtime(tmp_path: Path) -> None:
    seen: list[str] = []

    class FakeMailroom:
        def read_page(self, page_id: str) -> object:
            seen.append(page_id)

            class Status:
                value = "submitted"

            return Status()

    class FakeRuntime:
        mailroom = FakeMailroom()

    app = make_celery({"VAR_DIR": str(tmp_path), "JOBS_EAGER": True}, lambda: FakeRuntime(), JOBS)
    assert set(JOBS) <= set(app.tasks)
    result = app.tasks["mailroom.read_page"].apply_async(args=("page-1",))
    # An eager task of another test in this worker process may leave Celery's task stack set,
    # which makes get() think it is called from inside a task: the result is here already.
    assert result.get(disable_sync_subtasks=False) == "submitted"
    assert seen == ["page-1"]
