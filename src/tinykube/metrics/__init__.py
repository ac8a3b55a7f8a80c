"""Resource usage of pods and nodes: what metrics-server serves as metrics.k8s.io/v1beta1
(`kubectl top`) and what the HorizontalPodAutoscaler reads."""
