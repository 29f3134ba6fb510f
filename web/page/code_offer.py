# The one question asked before edited code that came from elsewhere is loaded (MicroPython): a link's code= part
# (code_link.py) or a saved run's code (Load model, Resume: keep.py). It shows what the code changes (a diff) and
# waits for the answer: Load this code, Keep the original (when the run can go on without the code), or Cancel
# (a saved run: nothing is loaded). Nothing of the code is compiled or run before the answer is Load this code.
# One question at a time: a new one answers the open one with Cancel.
import asyncio

from ui import el, on, set_text

LOAD, ORIGINAL, CANCEL = 'load', 'original', 'cancel'


class Question:
    def __init__(self):
        self.event = None  # the open question's asyncio.Event
        self.answer = ''


question = Question()


async def ask(text, diff, diff_label, keep_original=True, cancel=False):
    """Show the changes and wait for the person's choice: LOAD, ORIGINAL or CANCEL."""
    answer(CANCEL)  # a question still open is answered first
    set_text('code-offer-text', text)
    set_text('code-offer-diff', diff)
    el('code-offer-diff').setAttribute('aria-label', diff_label)
    el('code-offer-no').hidden = not keep_original
    el('code-offer-cancel').hidden = not cancel
    el('code-card').hidden = False  # even where a link hid the Code panel: the changes must be seen
    box = el('code-offer')
    box.hidden = False
    box.scrollIntoView()
    event = question.event = asyncio.Event()
    await event.wait()
    return question.answer


def answer(choice):
    if question.event is None:
        return
    question.answer, event, question.event = choice, question.event, None
    el('code-offer').hidden = True
    event.set()


@on('click', '#code-offer-yes')
async def on_load(event):
    answer(LOAD)


@on('click', '#code-offer-no')
async def on_original(event):
    answer(ORIGINAL)


@on('click', '#code-offer-cancel')
async def on_cancel(event):
    answer(CANCEL)
