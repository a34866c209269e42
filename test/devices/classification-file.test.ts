/**
 * The classification rules file: the shipped one loads and validates, a bad file is refused with
 * its line and reason, a user file's rules come first, and each type the shipped rules add is
 * recognised from attributes the sensor really records.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AttributeView,
  ClassificationFileError,
  criticalityOf,
  DEVICE_TYPES,
  loadClassifier,
  parseClassificationRules,
  SHIPPED_CLASSIFICATION_FILE,
  shippedClassifier,
} from '../../src/devices/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { configSchema } from '../../src/platform/config/schema.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createServices } from '../../src/server/index.js';

const attr = (name: string, value: string): AttributeView => ({
  name,
  value,
  source: 'sensor',
  evidence: 'test',
  confidence: 0.9,
});

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-classify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

/** The error a bad file gives: file, line and reason. */
function refusal(text: string): ClassificationFileError {
  try {
    parseClassificationRules(text, 'mine.yml');
  } catch (e) {
    expect(e).toBeInstanceOf(ClassificationFileError);
    return e as ClassificationFileError;
  }
  throw new Error('the file was accepted');
}

const RULE = `version: 1
rules:
  - id: my-rule
    type: printer
    confidence: 0.5
    reason: a printer ({name})
    match:
      - attribute: hostname
        as: name
        prefix: prn-
`;

describe('the classification rules file', () => {
  it('the shipped file loads: unique ids, known types, every type but unknown reachable', () => {
    const rules = shippedClassifier().rules;
    expect(rules.length).toBeGreaterThan(25);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    const types = new Set(rules.map((r) => r.type));
    for (const t of DEVICE_TYPES) if (t !== 'unknown') expect(types, t).toContain(t);
    expect(SHIPPED_CLASSIFICATION_FILE).toMatch(/content[/\\]devices[/\\]classification\.yml$/);
  });

  it('a valid user rule explains itself with the matched value', () => {
    const [rule] = parseClassificationRules(RULE, 'mine.yml');
    expect(rule!.match([attr('hostname', 'PRN-3F-EAST')])).toEqual({
      evidence: [attr('hostname', 'PRN-3F-EAST')],
      reason: 'a printer (PRN-3F-EAST)',
    });
    expect(rule!.match([attr('hostname', 'ws-12')])).toBeNull();
  });

  it('refuses a bad file with the file, the line and the reason', () => {
    const yaml = refusal('version: 1\nrules:\n  - id: a\n    type: [oops\n');
    expect(yaml.message).toMatch(/^mine\.yml:\d+: YAML: /);
    expect(yaml.code).toBe('CONFIG_INVALID');

    const type = refusal(RULE.replace('type: printer', 'type: toaster'));
    expect(type.line).toBe(4);
    expect(type.message).toMatch(/^mine\.yml:4: rules\.0\.type: /);

    const regex = refusal(RULE.replace('prefix: prn-', "regex: '(a)\\1'"));
    expect(regex.line).toBe(10);
    expect(regex.reason).toMatch(/rule my-rule: regular expression cannot run in linear time \(RE2\)/);

    const two = refusal(RULE.replace('prefix: prn-', 'prefix: prn-\n        equals: x'));
    expect(two.line).toBe(8);
    expect(two.reason).toMatch(/exactly one of equals, oneOf, prefix, regex, ports, present/);

    const unnamed = refusal(RULE.replace('({name})', '({model})'));
    expect(unnamed).toMatchObject({ line: 6 });
    expect(unnamed.reason).toMatch(/reason names \{model\}, but no condition has `as: model`/);

    const dup = refusal(`${RULE}${RULE.split('rules:\n')[1]}`);
    expect(dup.line).toBe(11);
    expect(dup.reason).toMatch(/used by an earlier rule/);

    const unknownKey = refusal(RULE.replace('    reason:', '    colour: red\n    reason:'));
    expect(unknownKey.line).toBe(3);
    expect(unknownKey.reason).toMatch(/colour/);

    expect(refusal('version: 2\nrules: []\n').line).toBe(1);
  });

  it('refuses a user file that is missing, naming it', () => {
    const missing = path.join(dir, 'absent.yml');
    expect(() => loadClassifier({ userFile: missing })).toThrow(
      `${missing}:0: cannot read the file (ENOENT)`,
    );
  });

  it("a user file's rules come first: they win ties, and replace a shipped rule of the same id", () => {
    const evidence = [attr('vendor', 'Cisco Systems, Inc')];
    expect(shippedClassifier().classify(evidence)).toMatchObject({
      type: 'network-gear',
      rule: 'oui-network-vendor',
    });
    const tie = write(
      'tie.yml',
      `version: 1
rules:
  - id: cisco-phones
    type: iot
    confidence: 0.5
    reason: our Cisco devices are desk phones ({v})
    match:
      - attribute: vendor
        as: v
        regex: '^cisco'
`,
    );
    expect(loadClassifier({ userFile: tie }).classify(evidence)).toMatchObject({
      type: 'iot',
      rule: 'cisco-phones',
      reason: 'our Cisco devices are desk phones (Cisco Systems, Inc)',
    });
    // Same id as a shipped rule: the shipped one is gone.
    const replace = write(
      'replace.yml',
      `version: 1
rules:
  - id: oui-network-vendor
    type: network-gear
    confidence: 0.5
    reason: Juniper only
    match:
      - attribute: vendor
        regex: juniper
`,
    );
    const c = loadClassifier({ userFile: replace });
    expect(c.rules.filter((r) => r.id === 'oui-network-vendor')).toHaveLength(1);
    expect(c.classify(evidence).type).toBe('unknown');
    // Strong shipped evidence still beats a weaker user hint.
    expect(
      loadClassifier({ userFile: tie }).classify([
        ...evidence,
        attr('protocol_served', 'intellivue/udp/24105'),
      ]),
    ).toMatchObject({ type: 'patient-monitor' });
  });

  it('a bad user file stops start-up with its file, line and reason, before the database opens', async () => {
    const bad = write('bad.yml', RULE.replace('confidence: 0.5', 'confidence: 2'));
    const dataDir = path.join(dir, 'data');
    await expect(
      createServices(validateConfig({ dataDir, devices: { classificationFile: bad } }), silentLogger()),
    ).rejects.toThrow(`${bad}:5: rules.0.confidence: Too big`);
    expect(existsSync(path.join(dataDir, 'vigil.sqlite'))).toBe(false);
  });

  it('the configuration accepts devices.classificationFile', () => {
    expect(configSchema.parse({ devices: { classificationFile: '/etc/vigil/classes.yml' } }).devices).toEqual(
      {
        classificationFile: '/etc/vigil/classes.yml',
      },
    );
    expect(configSchema.parse({}).devices).toEqual({});
    expect(configSchema.safeParse({ devices: { classificationFiles: 'x' } }).success).toBe(false);
  });
});

describe('the types the shipped rules add', () => {
  const classify = (list: AttributeView[]) => shippedClassifier().classify(list);

  it('ventilators by name from HL7, DICOM/IntelliVue equipment fields and SDC', () => {
    expect(
      classify([attr('hl7_sending_application', 'EVITA_V800'), attr('vendor', 'Drägerwerk AG & Co. KG aA')]),
    ).toMatchObject({ type: 'ventilator', rule: 'ventilator-name' });
    expect(classify([attr('manufacturer', 'Hamilton Medical AG'), attr('model', 'HAMILTON-C6')]).type).toBe(
      'ventilator',
    );
    expect(classify([attr('hl7_equipment', 'PB980^Puritan Bennett')]).type).toBe('ventilator');
    expect(
      classify([
        attr('protocol_served', 'sdc/udp/3702'),
        attr('sdc_type', 'http://standards.ieee.org/downloads/11073/11073-20702-2016:MedicalDevice'),
        attr('sdc_scope', 'sdc.mds.pkp:1.2.840.10004.20701.1.1 sdc.cdc.type:///MDC_DEV_SYS_PT_VENT_MDS'),
      ]),
    ).toMatchObject({ type: 'ventilator', rule: 'sdc-ventilator' });
    expect(criticalityOf('ventilator', []).level).toBe('life-sustaining');
  });

  it('nurse call by vendor name in HL7, DHCP or the NIC vendor', () => {
    expect(classify([attr('hl7_sending_application', 'RAULAND_R5')])).toMatchObject({
      type: 'nurse-call',
      reason: 'a nurse-call system named in its HL7, DHCP or web identity (RAULAND_R5)',
    });
    expect(classify([attr('hostname', 'ascom-telligence-gw')]).type).toBe('nurse-call');
    expect(classify([attr('vendor', 'RAULAND-BORG CORPORATION')])).toMatchObject({
      type: 'nurse-call',
      rule: 'oui-nurse-call-vendor',
    });
    // DASCOM makes printers: not Ascom.
    expect(classify([attr('vendor', 'DASCOM Europe GmbH')]).type).toBe('printer');
    expect(criticalityOf('nurse-call', []).level).toBe('patient-care');
  });

  it('printers by JetDirect/LPD/IPP service, firmware and vendor', () => {
    expect(
      classify([attr('protocol_served', 'tcp/9100'), attr('protocol_served', 'http/tcp/80')]),
    ).toMatchObject({
      type: 'printer',
      rule: 'printer-services',
      reason: 'serves printing (JetDirect or LPD) on tcp/9100',
    });
    expect(classify([attr('protocol_served', 'tcp/515')]).type).toBe('printer');
    expect(classify([attr('protocol_served', 'ipp/tcp/631')])).toMatchObject({
      type: 'printer',
      rule: 'ipp-served',
    });
    expect(classify([attr('software', 'HP HTTP Server; HP Color LaserJet MFP M479fdw')]).type).toBe(
      'printer',
    );
    expect(classify([attr('vendor', 'Brother industries, LTD.')]).type).toBe('printer');
    // A port number elsewhere in a value is not the served port.
    expect(classify([attr('protocol_served', 'tcp/19100')]).type).toBe('unknown');
    expect(criticalityOf('printer', []).level).toBe('business');
    expect(criticalityOf('printer', [attr('patient_data_sent', 'hl7')]).level).toBe('patient-care');
  });

  it('IoT by firmware host names and IoT vendors', () => {
    expect(classify([attr('hostname', 'ESP-1A2B3C'), attr('vendor', 'Espressif Inc.')])).toMatchObject({
      type: 'iot',
      rule: 'iot-firmware',
    });
    expect(classify([attr('vendor', 'Hangzhou Hikvision Digital Technology Co.,Ltd.')])).toMatchObject({
      type: 'iot',
      rule: 'oui-iot-vendor',
    });
    expect(criticalityOf('iot', []).level).toBe('business');
  });

  it('a DICOM SCU that is not a modality is a DICOM workstation; modalities and archives stay', () => {
    expect(
      classify([attr('dicom_role', 'scu'), attr('ae_title', 'READING3'), attr('user_agent', 'Mozilla/5.0')]),
    ).toMatchObject({ type: 'dicom-workstation', rule: 'dicom-scu-not-modality' });
    expect(classify([attr('dicom_role', 'scu'), attr('modality', 'MR')]).type).toBe('imaging-modality');
    expect(
      classify([attr('dicom_role', 'scu'), attr('dicom_role', 'scp'), attr('dicom_storage_scp', 'yes')]).type,
    ).toBe('pacs');
    expect(criticalityOf('dicom-workstation', []).level).toBe('patient-care');
  });
});
