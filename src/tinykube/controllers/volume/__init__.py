"""Persistent volumes: the binder (upstream's persistentvolume controller), the PVC and PV
protection controllers, and the pure matching and phase rules they share (util.py)."""
