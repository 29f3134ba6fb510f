"""The protocol's table (web/worker/protocol.py) held to both sides, with no browser: the page (web/page/client.py)
has exactly one function calling each row and calls nothing else; the worker registers exactly the table's rows;
every row, run in CPython, answers exactly the keys of its row; every key the table lists is read by the page."""
import ast
import json
import re
import sys

import pytest

import microgpt as mg
from conftest import ROOT
from test_worker_rows import WORDS, answer, settings

sys.path.insert(0, str(ROOT / 'web' / 'worker'))
import protocol  # noqa: E402
import worker_rows as rows  # noqa: E402
import worker_session  # noqa: E402

PAGE = ROOT / 'web' / 'page'


def client_calls():
    """{row: [the client.py functions whose body calls it]}: the literal first argument of call() and ask()."""
    tree = ast.parse((PAGE / 'client.py').read_text(encoding='utf-8'))
    found = {}
    for function in tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.name in ('call', 'ask'):
            continue  # (the two that every row's function goes through)
        for node in ast.walk(function):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ('call', 'ask')
                    and node.args):
                first = node.args[0]
                name = first.value if isinstance(first, ast.Constant) else f'<not a literal in {function.name}>'
                if function.name not in found.setdefault(name, []):
                    found[name].append(function.name)
    return found


def test_the_page_has_exactly_one_function_per_row():
    calls = client_calls()
    assert sorted(calls) == sorted(protocol.ROWS)
    assert {row: functions for row, functions in calls.items() if len(functions) != 1} == {}


def test_no_other_page_module_calls_the_worker_directly():
    for path in sorted(PAGE.glob('*.py')):
        if path.name != 'client.py':
            text = path.read_text(encoding='utf-8')
            assert not re.search(r'client\.(call|ask)\(|\.worker\.', text), path.name


def test_the_worker_registers_the_tables_rows_and_the_sandbox_runs_the_same():
    own = {name for name, instead in protocol.FETCHING.items() if instead is None}
    in_rows = {protocol.FETCHING.get(name, name) for name in protocol.ROWS if name not in own}
    assert {f.__name__ for f in rows.ROWS} == in_rows  # the sandboxed worker's glue calls these by name
    assert all(getattr(rows, name) in rows.ROWS for name in in_rows)


# -- what each row sends --------------------------------------------------------------------------------------------------
def sent():
    """{row: [the keys of each answer it gave]}: every row run in CPython on a small model, answers and errors."""
    worker_session.session.__init__()
    out = {}

    def take(row, text, error=False):
        out.setdefault((row, error), []).append(set(answer(text)))
        return text

    take('stage_url', rows.stage_bytes('\n'.join(WORDS).encode(), 'words.txt'))
    take('stage_url', rows.stage_bytes(b'', 'empty.txt'), error=True)
    take('adopt', rows.adopt())
    take('describe', rows.describe(settings(), 'original'))
    take('describe', rows.describe(settings(n_head=3), 'original'), error=True)
    take('reset', rows.reset(settings(validation=True), 'original'))
    take('reset', rows.reset(settings(n_head=3), 'original'), error=True)
    take('train', rows.train(2, 60000))
    take('keep_settings', rows.keep_settings(settings(validation=True, num_steps=8)))
    take('keep_settings', rows.keep_settings(settings(validation=True, num_steps=1)), error=True)
    take('set_engine', rows.set_engine('efficient'))
    take('set_engine', rows.set_engine('original'))
    take('sample', rows.sample(2, '0.5'))
    take('sample', rows.sample(2, 'hot'), error=True)
    take('verify', rows.verify(1))
    take('log_csv', rows.log_csv())
    take('check_link', rows.check_link(json.dumps([['seed', '3'], ['x', '1']])))
    saved = take('export_state', rows.export_state())
    take('import_state', rows.import_bytes(saved.split('\n', 1)[1].encode(), 'run.json', ''))
    take('import_state', rows.import_bytes(b'{', 'bad.json', ''), error=True)
    take('next_token', rows.next_token('ba', '1'))
    take('next_token', rows.next_token('ba', '0'), error=True)
    take('attention', rows.attention('ban'))
    take('attention', rows.attention('b!'), error=True)
    take('step_through', rows.step_through('ba', 1, '1'))
    take('code_files', rows.code_files())
    files = {f['path']: f['text'] for f in answer(rows.code_files())['files']}
    model = files['microgpt/model.py']
    take('code_check', rows.code_check(json.dumps({**files, 'microgpt/model.py': model + '\n# a comment\n'})))
    take('code_train', rows.code_train(settings(), json.dumps({**files, 'microgpt/model.py': model + '\n# a\n'})))
    take('code_train', rows.code_train(settings(), json.dumps({**files, 'microgpt/model.py': model + '\n)\n'})),
         error=True)
    state = answer(rows.export_state().split('\n', 1)[0])  # a model of edited code: saved, then asked about
    assert state['code'] == ['microgpt/model.py']
    take('import_state', rows.import_bytes(rows.export_state().split('\n', 1)[1].encode(), 'code.json', ''))
    rows.reset(settings(), 'original')  # a step that fails (the loss not finite, edited code...): its error
    rows.train(1, 60000)

    def fails(*args):
        raise mg.TrainingError(2, 'the loss is not finite')
    worker_session.session.trainer.train = fails
    take('train', rows.train(3, 60000), error=True)
    return out


@pytest.fixture(scope='module')
def answers():
    return sent()


def test_every_row_sends_exactly_the_keys_of_its_row(answers):
    for (row, error), shapes in answers.items():
        allowed = ([set(protocol.ERROR) | set(protocol.ROWS[row]['error_extra'])] if error
                   else [set(a) for a in protocol.ROWS[row]['answers']])
        for keys in shapes:
            assert keys in allowed, (row, error, sorted(keys))


def test_every_shape_in_the_table_was_sent(answers):
    """(init is worker.py's own: it fetches presets.json and answers {presets})."""
    for row, spec in protocol.ROWS.items():
        if row == 'init':
            continue
        for shape in spec['answers']:
            assert set(shape) in answers[(row, False)], (row, shape)
    assert ('train', True) in answers and ('code_train', True) in answers


def page_text():
    return '\n'.join(p.read_text(encoding='utf-8') for p in sorted(PAGE.glob('*.py')))


def script_text():
    return '\n'.join(p.read_text(encoding='utf-8') for p in sorted((ROOT / 'web' / 'js').glob('*.js')))


def test_every_key_the_table_lists_is_read_by_the_page():
    """A key is read in the page's MicroPython (a string literal: r['key'], r.get('key'), a list of keys) or, for
    an answer handed to JavaScript as it is (the views, Step through), as a property (.key) in web/js/."""
    py, js = page_text(), script_text()
    keys = set(protocol.ERROR) | {k for spec in protocol.ROWS.values() for shape in spec['answers'] for k in shape}
    unread = sorted(k for k in keys if f"'{k}'" not in py and not re.search(r'\.%s\b|\{[^}]*\b%s\b[^}]*\} = ' % (k, k), js))
    assert unread == []


def test_the_page_keeps_the_model_keys_of_the_table():
    text = (PAGE / 'model_answer.py').read_text(encoding='utf-8')
    keys = ast.literal_eval(re.search(r'^KEYS = (\(.*?\))$', text, re.M | re.S).group(1))
    assert keys == protocol.MODEL
