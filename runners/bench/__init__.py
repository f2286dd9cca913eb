"""Benchmarks: localnet side by side with a reference (PyTorch, numpy), measured in one run."""
