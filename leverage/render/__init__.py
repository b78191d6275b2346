"""Synthesized stacks -> the files of Leverage layer folders (config.tf, main.tf.json, addresses.tf, README.md)."""
