// A streaming answer in the page: the blocks it has finished are rendered once and kept, only the
// open tail is rendered again on each update. A long answer then costs a repaint the size of its
// last block instead of its whole length, and a selection in an earlier paragraph survives.
import {BlockSplitter} from './blocks.js';
import {renderMarkdown} from './markdown.js';

export class StreamingView {
  constructor(el) {
    this.el = el;
    this.splitter = new BlockSplitter();
    this.done = 0;          // text rendered into the kept nodes
    this.keptNodes = 0;     // el's first children that hold it
    el.replaceChildren();
  }

  // `text` extends the text of the previous call.
  update(text) {
    const settled = this.splitter.update(text);
    while (this.el.childNodes.length > this.keptNodes) this.el.lastChild.remove();
    if (settled > this.done) {
      const finished = renderMarkdown(text.slice(this.done, settled));
      this.keptNodes += finished.childNodes.length;
      this.el.append(finished);
      this.done = settled;
    }
    this.el.append(renderMarkdown(text.slice(settled)));
  }
}
