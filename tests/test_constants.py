"""What the page shares with microgpt/ is spelled there once: build.py writes the engines, the dataset size limit
and what a link may carry into index.html (a JSON that web/page/constants.py reads, and the page's own text)."""
import html.parser
import json
import re

from microgpt import links
from microgpt.data import MAX_BYTES
from microgpt.trainer import ENGINE_NAMES, ENGINES

from conftest import ROOT


class Reader(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.constants, self._in_constants = [], None, False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_constants = dict(attrs).get('id') == 'constants'

    def handle_data(self, data):
        if self._in_constants:
            self.constants = json.loads(data)
            self._in_constants = False


def read(dist_dir):
    reader = Reader()
    reader.feed((dist_dir / 'index.html').read_text(encoding='utf-8'))
    return reader


def test_the_page_gets_the_packages_constants(dist_dir):
    page = read(dist_dir)
    assert page.constants == {'engines': [list(pair) for pair in ENGINES.items()], 'max_dataset_bytes': MAX_BYTES,
                              'max_packed': links.MAX_PACKED, 'max_code_bytes': links.MAX_CODE_BYTES,
                              'max_title': links.MAX_TITLE, 'max_note': links.MAX_NOTE}
    options = [attrs['value'] for tag, attrs in page.tags if tag == 'option' and 'value' in attrs and attrs['value']]
    assert options[:len(ENGINE_NAMES)] == list(ENGINE_NAMES)
    inputs = {attrs.get('id'): attrs for tag, attrs in page.tags if tag == 'input'}
    assert (inputs['share-title']['maxlength'], inputs['share-note']['maxlength']) == (
        str(links.MAX_TITLE), str(links.MAX_NOTE))
    text = (dist_dir / 'index.html').read_text(encoding='utf-8')
    assert f'up to {MAX_BYTES // (1024 * 1024)} MB' in text and '{{' not in text


def test_the_page_spells_none_of_them_itself():
    """No module of the page writes an engine's name as a list, or one of these limits as a number."""
    numbers = {str(n) for n in (MAX_BYTES, links.MAX_CODE_BYTES, *links.MAX_PACKED.values())} | {
        '10 * 1024 * 1024', '256 * 1024'}
    for path in sorted((ROOT / 'web').rglob('*')):
        if path.suffix not in ('.py', '.js', '.html', '.mjs'):
            continue
        text = path.read_text(encoding='utf-8')
        assert not re.search(r"'original',\s*'efficient'|\"original\",\s*\"efficient\"", text), path
        assert not re.search(r'maxlength="\d', text), path
        for number in numbers:
            assert not re.search(rf'(?<![\w.]){re.escape(number)}(?!\d)', text), (path, number)
