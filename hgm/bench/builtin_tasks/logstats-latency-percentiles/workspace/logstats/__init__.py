"""Latency and error statistics from web server access logs."""
