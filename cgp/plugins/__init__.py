"""Built-in plugins; each sub-package is registered through the ``cgp`` entry-point group."""
