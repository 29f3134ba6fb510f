# Where a model's code runs (MicroPython): a model of the shipped code in the PyScript worker (worker.py), a model
# of edited code (the Code panel, a link's code, a saved or autosaved run's code) in the sandboxed worker
# (sandbox.js), which cannot reach the site's storage, the page or the network. A call that builds a model
# (code_train, import_state, reset) first moves the page to the worker its code needs, taking the current dataset
# along; the move holds only if the call succeeds, so a build that fails leaves the page on the worker that holds
# the model it had. Back on the shipped code, the sandboxed worker is stopped (the Code panel's Edit starts one in
# the background).
from pyscript import window

import client
from session import page


async def build_locked(sandboxed, build, carry=True):
    """build() (a client call that makes a new model) in the sandboxed worker or the PyScript one; carry: the
    current dataset goes along first (a state brings its own)."""
    if sandboxed == client.connection.sandbox:
        return await build()
    dataset = await dataset_locked() if carry else None
    if dataset is not None and 'error' in dataset:
        return dataset
    if sandboxed:
        why = await client.enter_sandbox()
        if why:
            return {'error': why}
    else:
        client.leave_sandbox()
    r = await restage_locked(dataset) if carry else {}
    if 'error' not in r:
        r = await build()
    if 'error' in r and not r.get('gone'):
        move_back(sandboxed)
    elif not sandboxed:
        client.stop_sandbox()
    return r


def move_back(sandboxed):
    """The build failed: the model is where it was."""
    if sandboxed:
        client.leave_sandbox()
    elif window.sandboxWorker.running():
        client.back_to_sandbox()


async def dataset_locked():
    """How to bring the current dataset to the other worker: {'blob': (Blob, name)}, {'preset': ...}, or for the
    documents of a loaded run (they live in its state only) a Blob of them, read from the current worker."""
    if page.dataset_blob is not None:
        return {'blob': page.dataset_blob}
    if page.dataset_choice != 'custom':
        return {'preset': page.dataset_choice}
    r = await client.export_state()
    if 'error' in r:
        return r
    blob = window.sandboxWorker.documentsBlob(r['parts'])
    return {'blob': (blob, r['source'])} if blob else {'error': 'the dataset could not be carried over'}


async def restage_locked(dataset):
    import datasets  # (it imports models, which imports this module)
    if 'blob' in dataset:
        info = await datasets.stage_blob(*dataset['blob'])
    else:
        preset = [p for p in page.presets if p['id'] == dataset['preset']][0]
        info = await client.stage_url(page.base + preset['file'], preset['label'])
    return info if 'error' in info else await client.adopt()


async def import_state_locked(url, source, code_choice):
    """A saved state (a blob: URL) into the worker its code needs: the sandboxed one when the person chose to load
    its code ('load'). Asked first (''), the PyScript worker answers a state with code by its changes (code_consent:
    nothing is built) and loads one without; while the page is on the sandboxed worker, a state with code is
    answered there, so that nothing moves before the person chose."""
    if code_choice == '' and client.connection.sandbox and await window.sandboxWorker.stateHasCode(url):
        return await client.import_state(url, source, '')
    return await build_locked(code_choice == 'load', lambda: client.import_state(url, source, code_choice),
                              carry=False)
