"""``python -m roboflow.cli`` (how ``roboflow run`` starts its worker process)."""

from roboflow.cli import main

main()
