"""Celery settings of roboflow workers, shipped with the package (a top-level ``celeryconfig`` overrides them).

Values follow ../shared/notes/celery.md: long tasks on a Redis broker, late acks, JSON only, one message
prefetched per process, results kept longer than any batch. ``ROBOFLOW_BROKER_URL`` and
``ROBOFLOW_RESULT_BACKEND`` point at the broker; ``ROBOFLOW_TASK_MAX_SECONDS`` bounds one conversion.
"""

from __future__ import annotations

import os

from kombu.entity import Exchange, Queue

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
task_reject_on_worker_lost = False
worker_prefetch_multiplier = 1
task_time_limit = TASK_MAX_SECONDS
task_soft_time_limit = TASK_MAX_SECONDS - 300
broker_transport_options = {
    "visibility_timeout": TASK_MAX_SECONDS + 1800,
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
}
result_backend_transport_options = {"visibility_timeout": TASK_MAX_SECONDS + 1800}
redis_socket_timeout = 30
redis_socket_connect_timeout = 10
redis_retry_on_timeout = True
broker_connection_retry_on_startup = True
broker_connection_max_retries = None  # a Redis restart must never end a worker
result_expires = 7 * 86400
result_chord_expires = 7 * 86400
worker_soft_shutdown_timeout = 60
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True
worker_hijack_root_logger = False

#: A worker started without -Q serves every roboflow queue.
task_queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ("scan", "convert", "merge"))
task_default_queue = "convert"
task_routes = {
    "roboflow.scan_batch": {"queue": "scan"},
    "roboflow.convert_unit": {"queue": "convert"},
    "roboflow.merge_batch": {"queue": "merge"},
    "roboflow.reconcile": {"queue": "merge"},
}
