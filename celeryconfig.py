"""Celery settings for roboflow workers (``celery -A roboflow worker``).

Values follow ../shared/notes/celery.md: long tasks on a Redis broker, late acks, JSON only. Override
the broker and result backend with ``ROBOFLOW_BROKER_URL`` / ``ROBOFLOW_RESULT_BACKEND``, or point
``CELERY_CONFIG_MODULE`` at another module.
"""

from __future__ import annotations

import os

#: Longest a single conversion may run, seconds.
TASK_MAX_SECONDS = int(os.environ.get("ROBOFLOW_TASK_MAX_SECONDS", "14400"))

broker_url = os.environ.get("ROBOFLOW_BROKER_URL", "redis://127.0.0.1:6379/0")
result_backend = os.environ.get("ROBOFLOW_RESULT_BACKEND", broker_url)

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]

task_acks_late = True
task_acks_on_failure = True
task_acks_on_timeout = True
task_retry_on_worker_lost = True
worker_prefetch_multiplier = 1
task_time_limit = TASK_MAX_SECONDS
task_soft_time_limit = TASK_MAX_SECONDS - 300
broker_transport_options = {
    "visibility_timeout": TASK_MAX_SECONDS + 1800,
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
}
result_backend_transport_options = {"visibility_timeout": TASK_MAX_SECONDS + 1800}
result_expires = 7 * 86400
result_chord_expires = 7 * 86400
worker_soft_shutdown_timeout = 60
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True
task_routes = {
    "roboflow.convert_unit": {"queue": "convert"},
    "roboflow.merge_batch": {"queue": "merge"},
}
