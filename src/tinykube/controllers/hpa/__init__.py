"""The HorizontalPodAutoscaler controller, split as upstream's podautoscaler package:
`replicas.py` (the replica calculator), `behavior.py` (stabilization windows, scaling policies,
min/max), `controller.py` (the loop: read the target's scale and the pods' metrics, rescale,
write status)."""
