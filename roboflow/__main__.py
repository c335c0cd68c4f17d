"""``python -m roboflow`` runs the command line."""

from roboflow.cli import main

main()
