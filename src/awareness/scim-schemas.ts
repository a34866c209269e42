/**
 * @module awareness/scim-schemas
 * The SCIM discovery documents (RFC 7644 §4, RFC 7643 §5-7): what this server supports, the User
 * resource type and the attributes it stores. Identity providers read them when a connection is
 * set up; they describe exactly what {@link ScimUsers} does.
 */

import { SCIM_MAX_PAGE, SCIM_MESSAGES } from './scim.js';
import { SCIM_CORE_USER, SCIM_ENTERPRISE_USER } from './scim-filter.js';

const SPC = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

type Attr = {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'reference';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'default' | 'never' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: Attr[];
  referenceTypes?: string[];
};

function attr(name: string, description: string, over: Partial<Attr> = {}): Attr {
  return {
    name,
    type: 'string',
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...over,
  };
}

/** `/ServiceProviderConfig`. */
export function serviceProviderConfig(base: string) {
  return {
    schemas: [SPC],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: SCIM_MAX_PAGE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Vigil API token',
        description:
          'A Vigil API token with the admin role (vgl_<id>.<secret>) in Authorization: Bearer. Create one for the identity provider alone and revoke it when the connection ends.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

function userResourceType(base: string) {
  return {
    schemas: [RESOURCE_TYPE],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'A person in the staff directory',
    schema: SCIM_CORE_USER,
    schemaExtensions: [{ schema: SCIM_ENTERPRISE_USER, required: false }],
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
  };
}

/** `/ResourceTypes` (a ListResponse) or one of them by id. */
export function resourceTypes(base: string) {
  const all = [userResourceType(base)];
  return {
    schemas: [SCIM_MESSAGES.list],
    totalResults: all.length,
    startIndex: 1,
    itemsPerPage: all.length,
    Resources: all,
  };
}

function userSchema(base: string) {
  return {
    schemas: [SCHEMA],
    id: SCIM_CORE_USER,
    name: 'User',
    description: 'A person in the staff directory (attributes this server stores)',
    attributes: [
      attr('userName', 'The work email address: the unique key of a person', {
        required: true,
        uniqueness: 'server',
      }),
      attr('name', 'The person\'s name; stored as one text, formatted or "givenName familyName"', {
        type: 'complex',
        required: true,
        subAttributes: [
          attr('formatted', 'The full name'),
          attr('givenName', 'The first word of the name'),
          attr('familyName', 'The rest of the name'),
        ],
      }),
      attr('displayName', 'The name (mirrors name.formatted)'),
      attr('externalId', "The identity provider's own id for the person, kept exactly as sent", {
        caseExact: true,
      }),
      attr('title', 'The job role'),
      attr('emails', 'The work address; always equal to userName', {
        type: 'complex',
        multiValued: true,
        subAttributes: [
          attr('value', 'The address'),
          attr('type', 'Always work', { mutability: 'readOnly' }),
          attr('primary', 'Always true', { type: 'boolean', mutability: 'readOnly' }),
        ],
      }),
      attr('active', 'false: the person has left (terminated); their access is revoked', { type: 'boolean' }),
    ],
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${SCIM_CORE_USER}` },
  };
}

function enterpriseSchema(base: string) {
  return {
    schemas: [SCHEMA],
    id: SCIM_ENTERPRISE_USER,
    name: 'EnterpriseUser',
    description: 'Department and manager (other enterprise attributes are accepted and not stored)',
    attributes: [
      attr('department', 'The department (used for training assignments and reports)'),
      attr('manager', "The person's manager, another User", {
        type: 'complex',
        subAttributes: [
          attr('value', "The manager's id", { caseExact: true }),
          attr('$ref', "The manager's URI", {
            type: 'reference',
            mutability: 'readOnly',
            referenceTypes: ['User'],
          }),
        ],
      }),
    ],
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${SCIM_ENTERPRISE_USER}` },
  };
}

/** `/Schemas` (a ListResponse). */
export function schemas(base: string) {
  const all = [userSchema(base), enterpriseSchema(base)];
  return {
    schemas: [SCIM_MESSAGES.list],
    totalResults: all.length,
    startIndex: 1,
    itemsPerPage: all.length,
    Resources: all,
  };
}

/** One schema by its URN, or undefined. */
export function schemaById(base: string, id: string) {
  return schemas(base).Resources.find((s) => s.id.toLowerCase() === id.toLowerCase());
}

/** One resource type by id, or undefined. */
export function resourceTypeById(base: string, id: string) {
  return resourceTypes(base).Resources.find((r) => r.id === id);
}
