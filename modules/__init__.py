"""Constructs of the scheduled batch inference pipeline, one per layer, and the stacks."""
