# Clickjacking (MicroPython): while the page is shown inside a frame of another site, that site could lay its own
# page over ours and trick the clicks that load code someone else wrote (Load this code, Train with my code; Load
# model). So a link's code is not offered (code_link.py) and Load model is off (keep.py) while framed. A host that
# can send headers forbids such frames outright: `Content-Security-Policy: frame-ancestors 'none'` (README; a
# <meta> policy cannot). The test is share.js's framedByAnotherSite.
from pyscript import window

FRAMED = ('this page is shown inside another site, which could trick the clicks that load it: open the page in a '
          'tab of its own')


def framed_by_another_site():
    return bool(window.shareLink.framedByAnotherSite())
