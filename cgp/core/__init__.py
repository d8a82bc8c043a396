"""The modality-free core: interfaces, plugin host, config, trainer, checkpoints, CLI.

Plugin authors import from :mod:`cgp.api`, the one public surface (with its ``VERSION``); the
modules here are where those names are defined.
"""
