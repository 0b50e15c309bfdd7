"""Experiments built on the golden model: data loading, studies that make tables and plots."""
