"""modelseal: manifests, OMS signatures and CI integration for ML model directories."""

__version__ = "0.1.0"
