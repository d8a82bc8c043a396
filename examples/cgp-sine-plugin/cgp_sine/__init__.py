"""An example third-party cgp plugin, installed on its own; it changes no file of cgp."""
