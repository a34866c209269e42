import { describe, expect, it } from 'vitest';
import { escapeHtml, renderInline, renderMarkdown, safeHref } from './markdown.js';

/** Every tag in the output must be one the renderer writes itself. */
const ALLOWED_TAGS = /^<\/?(h[1-6]|p|ul|ol|li|blockquote|pre|code|strong|em|a|hr)(\s|>|$)/;
function tagsOf(html: string): string[] {
  return html.match(/<[^>]*>?/g) ?? [];
}

describe('renderMarkdown', () => {
  it('renders the subset the courses use', () => {
    const html = renderMarkdown(
      [
        '# Title',
        '',
        'A **bold** and *em* line with `code` and a [link](https://example.org/a?b=1&c=2).',
        'Same paragraph.',
        '',
        '- one',
        '- two',
        '  continued',
        '',
        '3. three',
        '4. four',
        '',
        '> quoted **text**',
        '> - a list in a quote',
        '',
        '```',
        'if (a < b) {}',
        '```',
        '',
        '---',
      ].join('\n'),
    );
    expect(html).toBe(
      [
        '<h1>Title</h1>',
        '<p>A <strong>bold</strong> and <em>em</em> line with <code>code</code> and a <a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">link</a>. Same paragraph.</p>',
        '<ul>\n<li>one</li>\n<li>two continued</li>\n</ul>',
        '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>',
        '<blockquote>\n<p>quoted <strong>text</strong></p>\n<ul>\n<li>a list in a quote</li>\n</ul>\n</blockquote>',
        '<pre><code>if (a &lt; b) {}</code></pre>',
        '<hr>',
      ].join('\n'),
    );
  });

  it('escapes raw HTML everywhere instead of passing it through', () => {
    const hostile = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '# <iframe src="https://evil">',
      '- <b onclick="x()">item</b>',
      '> <svg onload=alert(1)>',
      '**<script>**',
      '`<script>`',
      '<!-- comment --> &amp; &lt;',
    ].join('\n\n');
    const html = renderMarkdown(hostile);
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAGS);
    expect(html).not.toMatch(/<script|<img|<iframe|<svg|<b |<!--/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&amp;amp; &amp;lt;');
  });

  it('drops dangerous link targets and keeps only the text', () => {
    for (const href of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'file:///etc/passwd',
      '//evil.example/x',
      '\\\\evil\\share',
    ]) {
      const html = renderMarkdown(`[click me](${href})`);
      expect(html).not.toContain('<a ');
      expect(html).toContain('click me');
      expect(html.toLowerCase()).not.toMatch(/href=|<script/);
      // Without the parentheses the target parses as a link target and is still refused.
      const bare = renderMarkdown(`[click me](${href.replace(/[()]/g, '')})`);
      expect(bare).not.toContain('<a ');
      expect(bare.toLowerCase()).not.toMatch(/href=|<script/);
    }
  });

  it('keeps an entity-looking target as an escaped relative link (a browser reads it as a fragment)', () => {
    expect(renderMarkdown('[x](&#106;avascript:alert1)')).toBe(
      '<p><a href="&amp;#106;avascript:alert1">x</a></p>',
    );
  });

  it('never lets a link target break out of its attribute', () => {
    const html = renderMarkdown('[x](https://a.example/"onmouseover="alert) and [y](/p\'onclick=\'z)');
    for (const tag of tagsOf(html)) expect(tag).toMatch(ALLOWED_TAGS);
    expect(html).toContain('href="https://a.example/&quot;onmouseover=&quot;alert"');
    expect(html).not.toMatch(/<a [^>]*\sonmouseover=/);
    expect(html).toContain('href="/p&#39;onclick=&#39;z"');
  });

  it('escapes the link label and does not nest links', () => {
    const html = renderInline('[<b>bold</b> [inner](https://x.example)](https://y.example)');
    expect(html).not.toContain('<b>');
    expect((html.match(/<a /g) ?? []).length).toBeLessThanOrEqual(1);
  });

  it('shows unmatched syntax literally and survives deep or huge input', () => {
    expect(renderInline('2 * 3 = 6 and **unclosed and `tick')).toBe('2 * 3 = 6 and **unclosed and `tick');
    expect(renderInline('\\*not em\\*')).toBe('*not em*');
    const deep = renderMarkdown(`${'> '.repeat(200)}deep`);
    expect(deep).toContain('deep');
    const long = renderMarkdown('*'.repeat(20_000));
    for (const tag of tagsOf(long)) expect(tag).toMatch(ALLOWED_TAGS);
  });
});

describe('safeHref', () => {
  it('allows http(s), mailto and relative links', () => {
    for (const ok of [
      'https://x.example',
      'http://x.example/a',
      'mailto:security@hospital.example',
      '/a/b',
      './c',
      '../d',
      '#top',
      'page?x=1:2',
    ])
      expect(safeHref(ok)).toBe(ok);
  });
  it('refuses other schemes and ambiguous forms', () => {
    for (const bad of [
      'javascript:x',
      'data:x',
      'blob:x',
      'tel:1',
      'x:y',
      '',
      ' ',
      'a b',
      '//x',
      'https://x\u0000y',
    ])
      expect(safeHref(bad)).toBeNull();
  });
  it('escapes all five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" class='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; class=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
