"""Example applications built on the generated modules (not installed with the package)."""
