// Where a streaming markdown answer's finished blocks end, found in one pass over the text as it
// grows. A block is finished once a blank line outside any code fence is followed by a line that
// starts at column 0 and is no list item: in CommonMark nothing after that point changes how the
// text before it renders (save link reference definitions, which the full render at the end of
// the answer settles). List items stay open, so a loose list renders as one list while it grows.

const kFenceOpen = /^ {0,3}(`{3,}|~{3,})/;
const kFenceClose = /^ {0,3}(`{3,}|~{3,})[ \t]*\r?$/;
const kBlank = /^[ \t]*\r?$/;
const kListItem = /^([-*+]|\d{1,9}[.)])([ \t]|\r?$)/;

export class BlockSplitter {
  constructor() {
    this.reset();
  }

  reset() {
    this.scanned = 0;      // complete lines before this offset have been looked at
    this.settled = 0;      // the finished blocks end here (a line start)
    this.fence = null;     // the open fence's marker ('```', '~~~~', ...), or null
    this.afterBlank = false;  // the last complete line was blank, outside a fence
  }

  // Looks at the complete lines added since the last call; returns the settled length. `text`
  // must extend the text of the previous call (call reset() otherwise).
  update(text) {
    let pos = this.scanned;
    for (let nl = text.indexOf('\n', pos); nl >= 0; nl = text.indexOf('\n', pos)) {
      this.#line(text.slice(pos, nl), pos);
      pos = nl + 1;
    }
    this.scanned = pos;
    return this.settled;
  }

  #line(line, start) {
    if (this.fence !== null) {
      const close = kFenceClose.exec(line);
      if (close && close[1][0] === this.fence[0] && close[1].length >= this.fence.length) this.fence = null;
      return;
    }
    const blank = kBlank.test(line);
    if (this.afterBlank && !blank && line[0] !== ' ' && line[0] !== '\t' && !kListItem.test(line)) {
      this.settled = start;
    }
    this.afterBlank = blank;
    const open = kFenceOpen.exec(line);
    if (open) this.fence = open[1];
  }
}
