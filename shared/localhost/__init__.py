"""The local host: runs function_app's functions by their declared triggers on embedded backends."""
