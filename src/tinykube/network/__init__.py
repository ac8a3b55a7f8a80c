"""Service networking: the built-in Services, loopback addresses, and the node's ClusterIP proxy."""
