"""A small client-side HTTP response cache that honours Cache-Control."""
