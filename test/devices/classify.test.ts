/**
 * The classification rules, one by one: each names its type from the evidence that should make
 * it, explains itself, and a weak hint never beats strong evidence.
 */
import { describe, expect, it } from 'vitest';
import { type AttributeView, classify, criticalityOf } from '../../src/devices/index.js';

const attr = (name: string, value: string, confidence = 0.9): AttributeView => ({
  name,
  value,
  source: 'test',
  evidence: 'test',
  confidence,
});

describe('device classification', () => {
  it('a DICOM SCU sending CT images is an imaging modality, patient-care criticality', () => {
    const list = [attr('modality', 'CT'), attr('dicom_role', 'scu'), attr('vendor', 'Cisco Systems, Inc')];
    const c = classify(list);
    expect(c).toMatchObject({ type: 'imaging-modality', rule: 'dicom-acquisition-modality' });
    expect(c.reason).toMatch(/Modality CT/);
    expect(c.evidence.map((e) => e.name)).toEqual(['modality', 'dicom_role']);
    expect(criticalityOf(c.type, list).level).toBe('patient-care');
  });

  it('an AE accepting C-STORE from many AE titles is a PACS, and a forwarding PACS is not a modality', () => {
    const list = [
      attr('dicom_storage_scp', 'yes'),
      attr('dicom_role', 'scp'),
      attr('dicom_role', 'scu'),
      attr('modality', 'MR'),
      ...['CT01', 'MR02', 'US03'].map((a) => attr('dicom_peer_scu', a)),
    ];
    expect(classify(list)).toMatchObject({ type: 'pacs', rule: 'dicom-archive-many-senders' });
    expect(classify(list).reason).toMatch(/3 AE titles/);
  });

  it('archive software on a DICOM SCP is a PACS; a viewer sending SC is a DICOM workstation', () => {
    expect(
      classify([attr('dicom_role', 'scp'), attr('dicom_implementation_version', 'dcm4che-1.4.22')]).type,
    ).toBe('pacs');
    expect(classify([attr('dicom_role', 'scu'), attr('modality', 'SC'), attr('model', 'OsiriX')]).type).toBe(
      'dicom-workstation',
    );
  });

  it('HL7 sending applications name engines, monitors, pumps and analysers', () => {
    expect(classify([attr('hl7_sending_application', 'MIRTH')]).type).toBe('hl7-interface-engine');
    expect(classify([attr('hl7_sending_application', 'EPIC')]).type).toBe('hl7-interface-engine');
    expect(classify([attr('hl7_sending_application', 'PHILIPS_INTELLIVUE')]).type).toBe('patient-monitor');
    expect(classify([attr('hl7_sending_application', 'ALARIS_GATEWAY')]).type).toBe('infusion-pump');
    expect(classify([attr('hl7_sending_application', 'COBAS_PRO')]).type).toBe('lab-analyser');
    const many = [
      attr('hl7_sending_application', 'ADTX'),
      ...['a', 'b', 'c'].map((p) => attr('hl7_peer', p)),
    ];
    expect(classify(many)).toMatchObject({ type: 'hl7-interface-engine', rule: 'hl7-many-peers' });
  });

  it('OUI vendor hints are weak: they classify alone, and lose to protocol evidence', () => {
    expect(classify([attr('vendor', 'Draeger Medical Systems')]).type).toBe('patient-monitor');
    expect(classify([attr('vendor', 'Baxter Healthcare')]).type).toBe('infusion-pump');
    expect(classify([attr('vendor', 'Cisco Systems, Inc')])).toMatchObject({
      type: 'network-gear',
      confidence: 0.5,
    });
    const mixed = [attr('vendor', 'Baxter Healthcare'), attr('hl7_sending_application', 'COBAS')];
    expect(classify(mixed).type).toBe('lab-analyser');
  });

  it('IntelliVue export, router MACs, browsers and IT services', () => {
    expect(classify([attr('protocol_served', 'intellivue/udp/24105')]).type).toBe('patient-monitor');
    expect(classify([attr('l3_gateway', 'yes')]).type).toBe('network-gear');
    expect(classify([attr('software_type', 'HTTP::BROWSER')]).type).toBe('workstation');
    expect(classify([attr('protocol_served', 'ssh/tcp/22')]).type).toBe('server');
    expect(classify([attr('protocol_served', 'tcp/8009')])).toMatchObject({ type: 'unknown', rule: 'none' });
  });

  it('criticality follows the type, and patient data raises IT devices to patient-care with the reason', () => {
    expect(criticalityOf('patient-monitor', []).level).toBe('life-sustaining');
    expect(criticalityOf('infusion-pump', []).level).toBe('life-sustaining');
    expect(criticalityOf('server', []).level).toBe('clinical-support');
    expect(criticalityOf('unknown', []).level).toBe('business');
    const raised = criticalityOf('workstation', [attr('patient_data_sent', 'hl7')]);
    expect(raised).toMatchObject({ level: 'patient-care', rank: 3 });
    expect(raised.reason).toMatch(/sends patient data \(hl7\)/);
  });
});
