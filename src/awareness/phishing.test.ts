import { describe, expect, it } from 'vitest';
import { addDuration, parseDuration } from './duration.js';
import { checkTemplate, renderTemplate } from './phishing-render.js';
import { computeRisk } from './risk.js';
import { findTrackingIds, isScannerClick } from './tracking.js';

const TEMPLATE = {
  subject: 'Hello {{firstName}}',
  html: '<p title="{{name}}">Hi {{firstName}}</p><a href="{{trackingLink}}">x</a>{{pixel}}',
  text: 'Hi {{firstName}} {{trackingLink}}',
};
const VALUES = {
  firstName: 'Eve\r\nBcc: evil@x.example',
  lastName: '<script>alert(1)</script>',
  name: 'Eve" onmouseover="alert(1)',
  email: 'eve@h.example',
  position: '',
  department: '',
  trackingLink: 'https://v.example/t/c/abc',
  reportLink: 'https://v.example/t/r/abc',
  pixelUrl: 'https://v.example/t/o/abc.gif',
  from: 'it@h.example',
};

describe('phishing template rendering', () => {
  it('keeps the subject on one line whatever the name holds', () => {
    const out = renderTemplate(TEMPLATE, VALUES);
    expect(out.subject).toBe('Hello Eve Bcc: evil@x.example');
    expect(out.subject).not.toMatch(/[\r\n]/);
  });

  it('escapes person data in HTML text and attributes', () => {
    const out = renderTemplate({ ...TEMPLATE, html: `${TEMPLATE.html}{{lastName}}` }, VALUES);
    expect(out.html).toContain('title="Eve&quot; onmouseover=&quot;alert(1)"');
    expect(out.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out.html).not.toContain('<script>');
    expect(out.html).toContain('<img src="https://v.example/t/o/abc.gif" width="1" height="1"');
  });

  it('refuses unknown placeholders, multi-line subjects and templates without a tracking link', () => {
    expect(() => checkTemplate({ ...TEMPLATE, html: '{{password}}' })).toThrow(/unknown placeholder/);
    expect(() => checkTemplate({ ...TEMPLATE, subject: 'a\r\nBcc: x' })).toThrow(/subject/);
    expect(() => checkTemplate({ subject: 's', html: 'h', text: 't' })).toThrow(/trackingLink/);
    expect(() => checkTemplate(TEMPLATE)).not.toThrow();
  });
});

describe('scanner heuristic', () => {
  const sent = '2026-01-01T00:00:00.000Z';
  it('marks clicks within a second of delivery, or without an open from a scanner agent', () => {
    expect(
      isScannerClick({ sent_at: sent, opened_at: null }, new Date('2026-01-01T00:00:00.500Z'), 'Mozilla/5.0'),
    ).toBe(true);
    expect(
      isScannerClick(
        { sent_at: sent, opened_at: null },
        new Date('2026-01-01T00:05:00Z'),
        'Mimecast-Link-Scanner',
      ),
    ).toBe(true);
    expect(
      isScannerClick(
        { sent_at: sent, opened_at: null },
        new Date('2026-01-01T00:05:00Z'),
        'Mozilla/5.0 Firefox',
      ),
    ).toBe(false);
    expect(
      isScannerClick(
        { sent_at: sent, opened_at: sent },
        new Date('2026-01-01T00:05:00Z'),
        'python-requests/2.3',
      ),
    ).toBe(false);
  });
});

describe('reported messages', () => {
  it('finds the tracking id in plain, quoted-printable and base64 copies', () => {
    const id = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v';
    expect(findTrackingIds(`see https://v.example/t/c/${id} now`)).toEqual([id]);
    expect(findTrackingIds(`href=3D"https://v.example/t/r/${id.slice(0, 20)}=\r\n${id.slice(20)}"`)).toEqual([
      id,
    ]);
    const b64 = Buffer.from(`<a href="https://v.example/t/o/${id}.gif">`).toString('base64');
    expect(findTrackingIds(`Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`)).toEqual([id]);
    expect(findTrackingIds('nothing here')).toEqual([]);
  });
});

describe('risk model', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it('adds overdue training and decaying phishing failures, and reports lower it', () => {
    const r = computeRisk(
      {
        overdue: 3,
        failedNotPassed: 1,
        clicks: ['2026-06-01T00:00:00Z'],
        submits: ['2026-03-03T00:00:00Z'],
        reports: [],
      },
      now,
    );
    expect(r.reasons.map((x) => [x.code, x.points])).toEqual([
      ['training-overdue', 50],
      ['quiz-failed', 10],
      ['phishing-click', 30],
      ['phishing-submit', 23],
    ]);
    expect(r.score).toBe(100);
    expect(r.state).toEqual({ overdueTraining: true, recentPhishingFailure: true });
    const good = computeRisk(
      {
        overdue: 0,
        failedNotPassed: 0,
        clicks: ['2026-05-31T00:00:00Z'],
        submits: [],
        reports: [
          '2026-05-31T00:00:00Z',
          '2026-05-30T00:00:00Z',
          '2026-05-29T00:00:00Z',
          '2026-05-28T00:00:00Z',
        ],
      },
      now,
    );
    expect(good.reasons.find((x) => x.code === 'phishing-reported')!.points).toBe(-30);
    expect(good.score).toBe(0);
    expect(
      computeRisk(
        { overdue: 0, failedNotPassed: 0, clicks: ['2025-01-01T00:00:00Z'], submits: [], reports: [] },
        now,
      ).score,
    ).toBe(0);
  });
});

describe('ISO 8601 durations', () => {
  it('adds years and months on the calendar', () => {
    expect(addDuration(new Date('2026-01-31T10:00:00Z'), parseDuration('P1M')!).toISOString()).toBe(
      '2026-02-28T10:00:00.000Z',
    );
    expect(addDuration(new Date('2024-02-29T00:00:00Z'), parseDuration('P1Y')!).toISOString()).toBe(
      '2025-02-28T00:00:00.000Z',
    );
    expect(addDuration(new Date('2026-01-01T00:00:00Z'), parseDuration('P1W3D')!).toISOString()).toBe(
      '2026-01-11T00:00:00.000Z',
    );
    expect(parseDuration('P')).toBeNull();
    expect(parseDuration('1Y')).toBeNull();
  });
});
