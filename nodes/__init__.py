"""Node functions, registries and the model layer of every workflow."""
