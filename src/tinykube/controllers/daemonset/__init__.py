"""The DaemonSet controller, split by concern: util (pure node eligibility, daemon pod shape,
per-node plans, fenceposts, status counts), ControllerRevisions (controllers/history.py, shared with StatefulSets), rolling (the
RollingUpdate plan) and the controller loop."""
