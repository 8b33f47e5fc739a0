"""Stores: the embedded SQLite store (default) and Elasticsearch."""
