// Markdown to sanitized HTML: markdown-it (raw HTML off), highlight.js for code, DOMPurify last.
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt from 'markdown-it';

// A common set keeps the bundle small; other languages fall back to automatic detection.
const kLanguages = {bash, c, cpp, css, diff, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml};
for (const [name, lang] of Object.entries(kLanguages)) hljs.registerLanguage(name, lang);

function highlight(code, lang) {
  try {
    if (lang && hljs.getLanguage(lang)) return hljs.highlight(code, {language: lang, ignoreIllegals: true}).value;
    return hljs.highlightAuto(code).value;
  } catch {
    return '';  // markdown-it escapes the code itself
  }
}

// html: false -> any HTML in model output becomes text; DOMPurify guards whatever is left.
const md = new MarkdownIt({html: false, linkify: true, breaks: false, highlight});
const defaultFence = md.renderer.rules.fence;
md.renderer.rules.fence = (tokens, idx, options, env, self) => {
  tokens[idx].attrJoin('class', 'hljs');
  return defaultFence(tokens, idx, options, env, self);
};

// Markdown as nodes ready to insert, each code block with its copy button.
export function renderMarkdown(text) {
  const fragment = DOMPurify.sanitize(md.render(text), {
    FORBID_TAGS: ['style', 'form', 'input', 'button'], FORBID_ATTR: ['style'], RETURN_DOM_FRAGMENT: true});
  addCopyButtons(fragment);
  return fragment;
}

function addCopyButtons(root) {
  for (const pre of root.querySelectorAll('pre')) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'copy-code';
    btn.textContent = 'Copy';
    btn.setAttribute('aria-label', 'Copy code');
    btn.addEventListener('click', async () => {
      const code = pre.querySelector('code')?.textContent ?? '';
      try {
        await navigator.clipboard.writeText(code);
        btn.textContent = 'Copied';
      } catch {
        btn.textContent = 'Copy failed';
      }
      setTimeout(() => (btn.textContent = 'Copy'), 1500);
    });
    pre.append(btn);
  }
}
