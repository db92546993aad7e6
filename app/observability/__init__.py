"""Exporters of Hunch's measurements: Prometheus text (the container), CloudWatch EMF (Lambda), and traces."""
