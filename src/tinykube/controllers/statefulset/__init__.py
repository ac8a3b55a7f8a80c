"""The StatefulSet controller: util.py (pure ordinals, plans, status), the ControllerRevision history
shared with DaemonSets in controllers/history.py, controller.py (the loop and its writes)."""
