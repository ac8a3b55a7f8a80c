"""Pod sandboxes for the process runtime: namespaces, pod network, volumes, cgroups (root on Linux)."""
