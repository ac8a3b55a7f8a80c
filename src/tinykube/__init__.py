"""tinykube: a Kubernetes-compatible control plane for workloads, written in Python."""

__version__ = "0.1.0"
