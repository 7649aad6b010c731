"""Shared helper library of the course."""
