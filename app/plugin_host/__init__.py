"""The plugin host: finding, checking and building source plugins (manifests read before
any plugin code runs), front ends found through entry points, and ``sources check``.
Plugins themselves import only ``countersign.plugin_api``."""
