import { describe, expect, it } from 'vitest';
import { isEvtxEvent, mapEvtx } from './evtx.js';
import { loadRules } from './load.js';

function evtx(provider: string, channel: string, id: number, data: Record<string, unknown>, user = false) {
  return {
    Event: {
      System: {
        Provider: { '#attributes': { Name: provider, Guid: '{x}' } },
        EventID: id,
        Channel: channel,
        Computer: 'ws1',
        Execution: { '#attributes': { ProcessID: 4, ThreadID: 8 } },
      },
      ...(user ? { UserData: { Op: data } } : { EventData: data }),
    },
  };
}

describe('evtx-to-JSON mapping', () => {
  it('flattens System and EventData like the SigmaHQ tooling', () => {
    const e = evtx('Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational', 1, {
      Image: 'c:\\a.exe',
    });
    expect(isEvtxEvent(e)).toBe(true);
    expect(isEvtxEvent({ Image: 'x' })).toBe(false);
    const { event, logsource } = mapEvtx(e);
    expect(event).toMatchObject({
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Provider_Name: 'Microsoft-Windows-Sysmon',
      Execution_ProcessID: 4,
      Computer: 'ws1',
      Image: 'c:\\a.exe',
    });
    expect(logsource).toEqual({ product: 'windows', service: 'sysmon', categories: ['process_creation'] });
  });

  it('derives categories from provider and EventID', () => {
    const sys = (id: number, data: Record<string, unknown> = {}) =>
      mapEvtx(evtx('Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational', id, data)).logsource
        .categories;
    expect(sys(3)).toEqual(['network_connection']);
    expect(sys(11)).toEqual(['file_event']);
    expect(sys(13)).toEqual(['registry_set', 'registry_event']);
    expect(sys(12, { EventType: 'DeleteValue' })).toEqual(['registry_delete', 'registry_event']);
    expect(sys(12, { EventType: 'CreateKey' })).toEqual(['registry_add', 'registry_event']);
    const sec = mapEvtx(
      evtx('Microsoft-Windows-Security-Auditing', 'Security', 4688, { NewProcessName: 'c:\\b.exe' }),
    );
    expect(sec.logsource).toEqual({
      product: 'windows',
      service: 'security',
      categories: ['process_creation'],
    });
    expect(sec.event.Image).toBe('c:\\b.exe');
    const ps = mapEvtx(
      evtx('Microsoft-Windows-PowerShell', 'Microsoft-Windows-PowerShell/Operational', 4104, {}),
    );
    expect(ps.logsource).toMatchObject({ service: 'powershell', categories: ['ps_script'] });
    const wmi = mapEvtx(
      evtx(
        'Microsoft-Windows-WMI-Activity',
        'Microsoft-Windows-WMI-Activity/Operational',
        5858,
        { Operation: 'x' },
        true,
      ),
    );
    expect(wmi.event.Operation).toBe('x');
    expect(wmi.logsource.service).toBe('wmi');
  });

  it('tests an event only against rules whose log source applies', () => {
    const rule = (id: string, ls: string) =>
      `title: ${id}\nid: ${id}\nlogsource:\n${ls}\ndetection:\n  s: {Image|endswith: a.exe}\n  condition: s\n`;
    const { ruleSet } = loadRules([
      { file: 'a.yml', text: rule('proc', '  product: windows\n  category: process_creation') },
      { file: 'b.yml', text: rule('file', '  product: windows\n  category: file_event') },
      { file: 'c.yml', text: rule('sysmon', '  product: windows\n  service: sysmon') },
      { file: 'd.yml', text: rule('linux', '  product: linux') },
      { file: 'e.yml', text: rule('anywin', '  product: windows') },
    ]);
    const e = evtx('Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational', 1, {
      Image: 'c:\\A.exe',
    });
    expect(ruleSet.match(e).map((m) => m.ruleId)).toEqual(['proc', 'sysmon', 'anywin']);
    expect(ruleSet.rulesFor({ product: 'linux', categories: [] }).map((r) => r.id)).toEqual(['linux']);
  });
});
