"""The DaemonSet controller, split by concern: util (pure node eligibility, daemon pod shape,
per-node plans, fenceposts, status counts), history (ControllerRevisions), rolling (the
RollingUpdate plan) and the controller loop."""
