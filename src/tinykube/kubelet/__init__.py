"""The node agent: what a kubelet does for the pods bound to our nodes."""
