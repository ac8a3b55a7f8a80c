"""Cluster DNS: the names of Services and Pods, and the resolv.conf pods get."""
