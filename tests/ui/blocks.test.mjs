// The web UI's streaming split (webui/src/blocks.js) in node, against markdown-it itself: the
// finished blocks it finds, rendered one by one, give exactly the HTML of the whole answer, and
// feeding the text a character at a time finds the same boundaries as reading each prefix afresh.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {test} from 'node:test';

import {BlockSplitter} from '../../webui/src/blocks.js';

// The page's own markdown-it (webui/node_modules), with the page's options.
const MarkdownIt = createRequire(new URL('../../webui/package.json', import.meta.url))('markdown-it');
const md = new MarkdownIt({html: false, linkify: true, breaks: false});

const settledOf = (text) => new BlockSplitter().update(text);

// Settled lengths after each character, fed one at a time.
function streamed(text) {
  const s = new BlockSplitter();
  return [...text].map((_, i) => s.update(text.slice(0, i + 1)));
}

test('a blank line then a line at column 0 ends a block, once that line is complete', () => {
  assert.equal(settledOf('One.\n\nTwo'), 0);
  assert.equal(settledOf('One.\n\nTwo.\n'), 6);
  assert.equal(settledOf('# Title\n\nText.\n\nMore'), 9);
  assert.equal(settledOf('One.\r\n\r\nTwo.\r\n'), 8);
  assert.equal(settledOf('One.\n \t\nTwo.\n'), 8);
  assert.equal(settledOf('One.\nTwo.\nThree.\n'), 0, 'no blank line: one paragraph');
});

test('no boundary inside a code fence, before an indented line or before a list item', () => {
  assert.equal(settledOf('```py\na = 1\n\nb = 2\n'), 0);
  assert.equal(settledOf('```py\na = 1\n\nb = 2\n```\n\nAfter.\n'), 24);
  assert.equal(settledOf('~~~~\n\nx\n~~~\n\ny\n'), 0, 'a shorter fence does not close');
  assert.equal(settledOf('~~~\n\nx\n```\n\ny\n'), 0, 'the other fence character does not close');
  assert.equal(settledOf('~~~\n\nx\n~~~~~\n\ny\n'), 14);
  assert.equal(settledOf('- a\n\n  more of a\n'), 0);
  assert.equal(settledOf('    code\n\n    more code\n'), 0);
  assert.equal(settledOf('- a\n\n- b\n'), 0);
  assert.equal(settledOf('1. a\n\n2) b\n\n* c\n\n+ d\n'), 0);
  assert.equal(settledOf('- a\n\nText.\n'), 5);
  assert.equal(settledOf('-not a list item\n\n10.5 neither\n'), 18);
});

// Blocks the property test composes (no link reference definitions: they reach back).
const kBlocks = [
  '# Heading', '## Sub *heading*', 'A paragraph with **bold**, `code` and https://example.com.',
  'Two lines\nof one paragraph.', 'Setext\n---', '> quoted\n> text', '> quote\n\n> another',
  '- tight\n- list', '- loose\n\n- list\n\n  with a second paragraph', '1. one\n2. two', '3) three',
  '```js\nconst a = 1;\n\n\nconst b = 2;\n```', '~~~\n```\nnot a close\n~~~', '```\nunclosed\n\nfence',
  '    indented\n\n    code', '| a | b |\n|---|---|\n| 1 | 2 |', '***', '- item\n\n  ```\n  code\n\n  ```',
  'Text with a trailing line\n', '<b>raw html stays text</b>', '* star\n\n  continued',
];

function* documents(count) {
  let seed = 12345;
  const next = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let d = 0; d < count; ++d) {
    const parts = Array.from({length: 2 + next(6)}, () => kBlocks[next(kBlocks.length)]);
    const seps = ['\n\n', '\n\n\n', '\n'];
    yield parts.reduce((doc, p) => doc + seps[next(seps.length)] + p);
  }
}

test('the finished blocks, rendered one by one, are the whole answer\'s HTML (300 documents)', () => {
  for (const doc of documents(300)) {
    const cuts = [0];
    for (const s of streamed(doc)) if (s > cuts.at(-1)) cuts.push(s);
    cuts.push(doc.length);
    const pieces = cuts.slice(1).map((end, i) => md.render(doc.slice(cuts[i], end))).join('');
    assert.equal(pieces, md.render(doc), `document ${JSON.stringify(doc)} cut at ${cuts}`);
  }
});

test('fed a character at a time it finds what a fresh split of each prefix finds', () => {
  for (const doc of documents(60)) {
    const incremental = streamed(doc);
    incremental.forEach((s, i) => assert.equal(s, settledOf(doc.slice(0, i + 1)), `prefix ${i} of ${JSON.stringify(doc)}`));
  }
});
