"""The StatefulSet controller: util.py (pure ordinals, plans, status), history.py (generic
ControllerRevision history), controller.py (the loop and its writes)."""
