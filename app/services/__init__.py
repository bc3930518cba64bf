"""Domain services: the only way the GUI, the CLI and plugins touch the store."""
