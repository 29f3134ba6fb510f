"""build.py's parts: where things are, the page's text from microgpt/, the dataset presets, the server."""
