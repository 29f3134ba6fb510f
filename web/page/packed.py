# A link's packed parts (MicroPython): a word list (`data=z:`) or edited code (`code=z:`) as `z:` + base64url of
# deflate-raw, packed and unpacked by share.js. The limits are microgpt/links.py's (constants.py): a part a link
# the page makes keeps to MAX_PACKED characters, and one it opens inflates to MAX_DATASET_BYTES or MAX_CODE_BYTES.
from pyscript import window

from constants import MAX_CODE_BYTES, MAX_DATASET_BYTES, MAX_PACKED
from ui import thousands

INFLATED = {'data': (MAX_DATASET_BYTES, 'dataset'), 'code': (MAX_CODE_BYTES, 'code')}


async def pack(blob, part):
    """('z:...', '') for a link's part, or (None, what it would take: 'packed it takes N characters, the limit
    is M')."""
    packed = await window.shareLink.pack(blob, MAX_PACKED[part] - 2)
    if packed.text:
        return 'z:' + str(packed.text), ''
    return None, 'packed it takes %s characters, the limit is %s' % (
        thousands(packed.length + 2), thousands(MAX_PACKED[part]))


async def unpack(value, part, noun):
    """(the Blob a link's `part=z:...` value holds, '') or (None, why not: 'the <noun> is ...')."""
    if len(value) > MAX_PACKED[part]:  # the limit a link the page makes keeps to
        return None, '%s is %s characters long (the limit is %s)' % (noun, thousands(len(value)),
                                                                     thousands(MAX_PACKED[part]))
    max_bytes, what = INFLATED[part]
    r = await window.shareLink.unpack(value[2:], max_bytes, what)
    if r.error:
        return None, '%s %s' % (noun, r.error)
    return r.blob, ''
