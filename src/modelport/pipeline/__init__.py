"""The import pipeline: list, inspect, validate, copy once, publish."""
