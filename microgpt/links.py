"""What a link to the page may carry (the page's Share; the CLI has no links), each bound spelled here once:
build.py writes them into the page (index.html's `constants`) as it writes the settings form from config.py.
A link's limit is the same when the page makes it and when it opens one."""
# characters of a `z:...` part (deflate-raw, base64url): a packed word list keeps a link near 6,000 characters,
# which mail and chat keep intact (a QR code holds 2,953 bytes: a longer link has none); a whole model.py
# rewritten packs to about 3,500
MAX_PACKED = {'data': 6000, 'code': 8000}
MAX_CODE_BYTES = 256 * 1024  # what a link's code may inflate to (a word list: data.MAX_BYTES)
MAX_TITLE, MAX_NOTE = 120, 500  # characters of the title and the instructions
