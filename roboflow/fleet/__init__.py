"""The distributed executor's logic, free of Celery: submit, scan, convert a unit, merge, reconcile.

Each function here runs the pipeline's stages (:mod:`roboflow.pipeline`) under the control plane's
transitions (:mod:`roboflow.coordination`); messages are sent through a :class:`~roboflow.fleet.dispatch.Dispatcher`,
which :mod:`roboflow.tasks` implements with Celery. Submodules: ``settings`` (environment), ``runtime``
(per-process store and worker session), ``batch`` (submit, staging, status), ``scanner``, ``worker``,
``merger``, ``reconciler``.
"""
