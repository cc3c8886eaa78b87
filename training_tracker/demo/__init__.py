"""Synthetic, repeatable demo data (flask demo seed) for the CLI, the tests and the benchmarks."""
