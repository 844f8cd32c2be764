/* global window, document */
// Project guidelines as safe Markdown: a small parser (headings, paragraphs, lists, quotes, code,
// **bold**, *emphasis*, `code`, [links](https://…)) into a tree, rendered with createElement and
// textContent only. No HTML from the text ever reaches the page; links other than http(s) and
// mailto are shown as plain text.
'use strict';
(function () {
  const SAFE_URL = /^(https?:\/\/|mailto:)/i;

  function inline(s) {
    const out = [];
    let text = '';
    const flush = () => {
      if (text) out.push({ t: 'text', v: text });
      text = '';
    };
    for (let i = 0; i < s.length; ) {
      const rest = s.slice(i);
      let m;
      if ((m = /^`([^`]+)`/.exec(rest))) {
        flush();
        out.push({ t: 'code', v: m[1] });
      } else if ((m = /^\*\*(.+?)\*\*/.exec(rest))) {
        flush();
        out.push({ t: 'strong', c: inline(m[1]) });
      } else if ((m = /^[*_]([^*_]+)[*_]/.exec(rest))) {
        flush();
        out.push({ t: 'em', c: inline(m[1]) });
      } else if ((m = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(rest))) {
        flush();
        if (SAFE_URL.test(m[2])) out.push({ t: 'a', href: m[2], c: inline(m[1]) });
        else out.push({ t: 'text', v: m[0] });
      } else {
        text += s[i];
        i++;
        continue;
      }
      i += m[0].length;
    }
    flush();
    return out;
  }

  function parse(md) {
    const lines = String(md).replace(/\r\n?/g, '\n').split('\n');
    const blocks = [];
    let para = [];
    const endPara = () => {
      if (para.length) blocks.push({ t: 'p', c: inline(para.join(' ')) });
      para = [];
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      let m;
      if (/^```/.test(line)) {
        endPara();
        const code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        blocks.push({ t: 'pre', v: code.join('\n') });
      } else if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
        endPara();
        blocks.push({ t: 'h', level: Math.min(6, m[1].length + 2), c: inline(m[2]) });
      } else if ((m = /^\s*([-*]|\d+[.)])\s+(.*)$/.exec(line))) {
        endPara();
        const ordered = /\d/.test(m[1]);
        const last = blocks[blocks.length - 1];
        const list = last && last.t === (ordered ? 'ol' : 'ul') && last.open ? last : null;
        if (list) list.items.push(inline(m[2]));
        else blocks.push({ t: ordered ? 'ol' : 'ul', items: [inline(m[2])], open: true });
        continue;
      } else if ((m = /^>\s?(.*)$/.exec(line))) {
        endPara();
        blocks.push({ t: 'quote', c: inline(m[1]) });
      } else if (line.trim() === '') endPara();
      else para.push(line.trim());
      const last = blocks[blocks.length - 1];
      if (last && last.open && line.trim() === '') delete last.open;
    }
    endPara();
    for (const b of blocks) delete b.open;
    return blocks;
  }

  function build(nodes, parent) {
    for (const n of nodes) {
      if (n.t === 'text') parent.appendChild(document.createTextNode(n.v));
      else if (n.t === 'code') parent.appendChild(el('code', n.v));
      else {
        const e = el(n.t === 'a' ? 'a' : n.t);
        if (n.t === 'a') {
          e.setAttribute('href', n.href);
          e.setAttribute('rel', 'noopener noreferrer');
          e.setAttribute('target', '_blank');
        }
        build(n.c, e);
        parent.appendChild(e);
      }
    }
  }

  function el(tag, text) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(md, container) {
    container.replaceChildren();
    for (const b of parse(md)) {
      let e;
      if (b.t === 'pre') e = el('pre', b.v);
      else if (b.t === 'ul' || b.t === 'ol') {
        e = el(b.t);
        for (const item of b.items) {
          const li = el('li');
          build(item, li);
          e.appendChild(li);
        }
      } else {
        e = el(b.t === 'h' ? 'h' + b.level : b.t === 'quote' ? 'blockquote' : 'p');
        build(b.c, e);
      }
      container.appendChild(e);
    }
  }

  window.gshfMarkdown = { parse, render };
})();
