"""cgp: a plugin-based platform for conditional GANs.

A plugin author needs only ``from cgp import hookimpl`` from pluggy's world; the interfaces live
in :mod:`cgp.core`.
"""

from cgp.core.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
