/**
 * @module awareness/markdown
 * A small, safe Markdown-to-HTML renderer for the subset the course files use: ATX headings,
 * paragraphs, bulleted and numbered lists, blockquotes, fenced code blocks, horizontal rules,
 * `**strong**`, `*emphasis*`, `` `code` `` and `[links](url)`.
 *
 * Why not a package: course text ends up in the console of every member of staff, so the renderer
 * must never let markup through. This one has no raw-HTML mode at all: every character of the
 * source is escaped, the only tags are the ones it writes itself, and a link target is kept only
 * when it is http(s), mailto or relative. Anything it does not understand is shown as text.
 */

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

/**
 * The link target to write, or `null` when it is not allowed. Allowed: `http:`, `https:`, `mailto:`
 * and relative references (`/path`, `./x`, `../x`, `#anchor`, `page`). Control characters and
 * spaces are refused rather than stripped, so `java\tscript:` cannot sneak through; a
 * protocol-relative `//host` is refused because it is neither relative nor explicit.
 */
export function safeHref(raw: string): string | null {
  const href = raw.trim();
  if (href.length === 0 || href.length > 2048) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(href)) return null;
  if (href.startsWith('//')) return null;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(href);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    return name === 'http' || name === 'https' || name === 'mailto' ? href : null;
  }
  // No scheme: a colon may only appear after a path separator, query or fragment.
  const firstColon = href.indexOf(':');
  if (firstColon >= 0) {
    const firstSep = href.search(/[/?#]/);
    if (firstSep < 0 || firstColon < firstSep) return null;
  }
  return href;
}

const MAX_DEPTH = 8;

/** Renders Markdown to safe HTML. */
export function renderMarkdown(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  return renderBlocks(lines, 0).join('\n');
}

const HEADING = /^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$/;
const FENCE = /^(```|~~~)/;
const BULLET = /^[ ]{0,3}[-*+][ \t]+(.*)$/;
const ORDERED = /^[ ]{0,3}(\d{1,9})[.)][ \t]+(.*)$/;
const QUOTE = /^[ ]{0,3}>[ ]?(.*)$/;
const RULE = /^[ ]{0,3}([-*_])([ \t]*\1){2,}[ \t]*$/;

function startsBlock(line: string): boolean {
  return (
    HEADING.test(line) ||
    FENCE.test(line.trimStart()) ||
    BULLET.test(line) ||
    ORDERED.test(line) ||
    QUOTE.test(line) ||
    RULE.test(line)
  );
}

function renderBlocks(lines: readonly string[], depth: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line.trimStart());
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith(marker)) body.push(lines[i++]!);
      i++; // the closing fence (or the end of the text)
      out.push(`<pre><code>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      out.push(`<h${level}>${renderInline(heading[2]!)}</h${level}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) inner.push(QUOTE.exec(lines[i++]!)![1]!);
      const content =
        depth >= MAX_DEPTH ? [`<p>${renderInline(inner.join(' '))}</p>`] : renderBlocks(inner, depth + 1);
      out.push(`<blockquote>\n${content.join('\n')}\n</blockquote>`);
      continue;
    }
    const ordered = ORDERED.test(line);
    if (ordered || BULLET.test(line)) {
      const re = ordered ? ORDERED : BULLET;
      const items: string[] = [];
      const start = ordered ? Number.parseInt(ORDERED.exec(line)![1]!, 10) : 1;
      while (i < lines.length) {
        const current = lines[i]!;
        const m = re.exec(current);
        if (m) {
          items.push(ordered ? m[2]! : m[1]!);
          i++;
        } else if (items.length > 0 && current.trim() !== '' && /^[ \t]+\S/.test(current)) {
          items[items.length - 1] += ` ${current.trim()}`; // a continuation line of the item
          i++;
        } else break;
      }
      const tag = ordered ? 'ol' : 'ul';
      const startAttr = ordered && start !== 1 ? ` start="${start}"` : '';
      out.push(
        `<${tag}${startAttr}>\n${items.map((t) => `<li>${renderInline(t.trim())}</li>`).join('\n')}\n</${tag}>`,
      );
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && (para.length === 0 || !startsBlock(lines[i]!))) {
      para.push(lines[i++]!.trim());
    }
    out.push(`<p>${renderInline(para.join(' '))}</p>`);
  }
  return out;
}

const ESCAPABLE = new Set('\\`*_{}[]()#+-.!>'.split(''));

/**
 * Renders one run of inline text. Every character that is not Markdown syntax goes through
 * `escapeHtml`; unmatched syntax characters are shown literally.
 */
export function renderInline(text: string, allowLinks = true): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length && ESCAPABLE.has(text[i + 1]!)) {
      out += escapeHtml(text[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        out += `<code>${escapeHtml(text.slice(i + 1, end))}</code>`;
        i = end + 1;
        continue;
      }
    }
    if (c === '*' && text[i + 1] === '*') {
      const end = text.indexOf('**', i + 2);
      if (end > i + 2) {
        out += `<strong>${renderInline(text.slice(i + 2, end), allowLinks)}</strong>`;
        i = end + 2;
        continue;
      }
    }
    if (c === '*' && text[i + 1] !== '*' && text[i + 1] !== ' ') {
      const end = findSingleStar(text, i + 1);
      if (end > i + 1) {
        out += `<em>${renderInline(text.slice(i + 1, end), allowLinks)}</em>`;
        i = end + 1;
        continue;
      }
    }
    if (c === '[' && allowLinks) {
      const link = parseLink(text, i);
      if (link) {
        const label = renderInline(link.label, false);
        const href = safeHref(link.href);
        if (href === null) out += label;
        else {
          const external = /^https?:/i.test(href);
          out += `<a href="${escapeHtml(href)}"${external ? ' rel="noopener noreferrer"' : ''}>${label}</a>`;
        }
        i = link.end;
        continue;
      }
    }
    out += escapeHtml(c);
    i++;
  }
  return out;
}

/** The index of the `*` closing an emphasis that opened before `from`, or -1. */
function findSingleStar(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '\\') {
      j++;
      continue;
    }
    if (text[j] === '*' && text[j + 1] !== '*' && text[j - 1] !== ' ' && text[j - 1] !== '*') return j;
  }
  return -1;
}

/** Parses `[label](href)` at `start`; labels do not nest brackets, targets do not contain spaces. */
function parseLink(text: string, start: number): { label: string; href: string; end: number } | null {
  const close = text.indexOf('](', start + 1);
  if (close < 0) return null;
  const label = text.slice(start + 1, close);
  if (label.length === 0 || label.includes('[') || label.includes(']')) return null;
  const end = text.indexOf(')', close + 2);
  if (end < 0) return null;
  const href = text.slice(close + 2, end);
  if (/\s/.test(href.trim()) || href.includes('(')) return null;
  return { label, href, end: end + 1 };
}
