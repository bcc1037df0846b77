// Table-driven tests of small text helpers, written as an app developer would for `node --test`.
// Runs unchanged under Node and inside a page through Daebug's node:test / node:assert shims.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';

function slugify(text) {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function camelCase(text) {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+([a-z0-9])/g, (_, char) => char.toUpperCase())
    .replace(/[^a-z0-9]/gi, '');
}

function wordWrap(text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function parseCsvLine(line) {
  const cells = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]);
}

describe('slugify', () => {
  const cases = [
    ['Hello World', 'hello-world'],
    ['  leading and trailing  ', 'leading-and-trailing'],
    ['Crème Brûlée', 'creme-brulee'],
    ['multiple---dashes', 'multiple-dashes'],
    ['Under_score and CAPS', 'under-score-and-caps'],
    ['123 numbers 456', '123-numbers-456'],
    ['!!!', ''],
    ['a', 'a'],
    ['Ünïcödé Tëxt', 'unicode-text'],
    ['already-a-slug', 'already-a-slug'],
  ];
  for (const [input, expected] of cases) {
    it(`turns ${JSON.stringify(input)} into ${JSON.stringify(expected)}`, () => {
      const slug = slugify(input);
      assert.equal(slug, expected);
      assert.match(slug, /^[a-z0-9-]*$/);
      assert.doesNotMatch(slug, /--/);
      assert.equal(slugify(slug), slug, 'slugify is idempotent');
    });
  }
});

describe('camelCase', () => {
  const cases = {
    'hello world': 'helloWorld',
    'Hello-World': 'helloWorld',
    'snake_case_name': 'snakeCaseName',
    'SCREAMING_CASE': 'screamingCase',
    'x': 'x',
    'with  2 spaces': 'with2Spaces',
  };
  for (const [input, expected] of Object.entries(cases)) {
    test(`camelCase(${JSON.stringify(input)})`, () => {
      assert.strictEqual(camelCase(input), expected);
      assert.ok(!/[\s_-]/.test(camelCase(input)));
    });
  }
});

describe('wordWrap', () => {
  const text = 'The quick brown fox jumps over the lazy dog and keeps running far away';
  for (const width of [10, 15, 20, 30, 80]) {
    it(`wraps at ${width} columns`, () => {
      const lines = wordWrap(text, width);
      for (const line of lines) {
        assert.ok(line.length <= width || !line.includes(' '), `line too long: ${line}`);
        assert.equal(line, line.trim());
      }
      assert.deepEqual(lines.join(' ').split(' '), text.split(' '));
    });
  }

  it('handles empty input and long words', () => {
    assert.deepEqual(wordWrap('', 10), []);
    assert.deepEqual(wordWrap('   ', 10), []);
    assert.deepEqual(wordWrap('supercalifragilistic word', 5), ['supercalifragilistic', 'word']);
  });
});

describe('parseCsvLine', () => {
  const cases = [
    ['a,b,c', ['a', 'b', 'c']],
    ['"quoted, comma",plain', ['quoted, comma', 'plain']],
    ['"escaped ""quote""",x', ['escaped "quote"', 'x']],
    [',,', ['', '', '']],
    ['single', ['single']],
    ['', ['']],
    ['1,2.5,-3', ['1', '2.5', '-3']],
  ];
  cases.forEach(([line, expected], index) => {
    it(`case ${index}: ${line || '(empty)'}`, () => {
      const cells = parseCsvLine(line);
      assert.deepStrictEqual(cells, expected);
      assert.equal(cells.length, expected.length);
      assert.ok(Array.isArray(cells));
    });
  });
});

describe('formatBytes', () => {
  const cases = [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 ** 2, '1.0 MiB'],
    [5.5 * 1024 ** 3, '5.5 GiB'],
    [1024 ** 5, '1024.0 TiB'],
  ];
  for (const [bytes, expected] of cases) {
    it(`${bytes} bytes`, () => assert.equal(formatBytes(bytes), expected));
  }
});

describe('escapeHtml', () => {
  it('escapes the five special characters', () => {
    assert.equal(escapeHtml('<a href="x">Tom & Jerry\'s</a>'),
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  });

  it('leaves other text alone', () => {
    for (const text of ['plain', 'ünïcode', '123', '', 'tabs\tand\nnewlines']) {
      assert.equal(escapeHtml(text), text);
    }
  });

  it('never produces raw specials', () => {
    const samples = ['<<>>', '&&', '"\'"', '<script>alert("x")</script>'];
    for (const sample of samples) {
      const escaped = escapeHtml(sample);
      assert.doesNotMatch(escaped, /[<>"']/);
      assert.notEqual(escaped, sample);
    }
  });
});
