"""Plots and interactive widgets, one module per lesson topic."""
