# What the page shares with microgpt/ (MicroPython), each spelled once there: build.py writes it into index.html
# as JSON (build.py page_constants): the engines' names, the dataset size limit, what a link may carry.
import json

from pyscript import document

_written = json.loads(str(document.getElementById('constants').textContent))
ENGINES = [name for name, _ in _written['engines']]  # the first is the default
MAX_DATASET_BYTES = _written['max_dataset_bytes']
MAX_PACKED = _written['max_packed']  # {'data': characters of a `data=z:` part, 'code': of a `code=z:` part}
MAX_CODE_BYTES = _written['max_code_bytes']
MAX_TITLE, MAX_NOTE = _written['max_title'], _written['max_note']
