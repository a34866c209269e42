/**
 * @module access/tables
 * Row types of the gateway's tables. Times are ISO-8601 UTC text; lists are JSON text. The session
 * rows extend identity's sessions (same id: the SHA-256 of the token) with what the gateway needs:
 * the device and when MFA was last done, so a step-up is bound to a device and an address.
 */
export type AccessDecisionRow = {
  id: string;
  time: string;
  user_id: string | null;
  username: string | null;
  app: string | null;
  decision: string;
  risk: number;
  /** The reasons as JSON text (decisions written before access-0004), or '' with `reasons_hash`. */
  reasons: string;
  /** The decision's reason set (`access_reason_sets`): consecutive decisions mostly share one. */
  reasons_hash: string | null;
  source_ip: string | null;
  host: string | null;
  path: string | null;
  method: string | null;
};

/** One distinct list of reasons (JSON), by its SHA-256; `seen_at` is the last time a decision used it. */
export type AccessReasonSetRow = {
  hash: string;
  reasons: string;
  seen_at: string;
};

export type AccessSessionRow = {
  id: string;
  user_id: string;
  device_id: string | null;
  ip: string | null;
  created_at: string;
  mfa_at: string | null;
  mfa_device_id: string | null;
  mfa_ip: string | null;
  revoked_at: string | null;
};

export type AccessDeviceRow = {
  user_id: string;
  device_id: string;
  first_seen_at: string;
  last_seen_at: string;
};

export type AccessProfileRow = {
  user_id: string;
  hours: string;
  updated_at: string;
};

/** A country, ASN or network a user signed in from with MFA (what "new" is measured against). */
export type AccessPlaceRow = {
  user_id: string;
  kind: 'country' | 'asn' | 'network';
  value: string;
  first_seen_at: string;
  last_seen_at: string;
};

/** A successful sign-in (a gateway session's creation), for impossible travel. */
export type AccessLoginRow = {
  session_id: string;
  user_id: string;
  ip: string;
  at: string;
};

export type AccessBlockRow = {
  id: string;
  cidr: string;
  reason: string;
  created_by: string | null;
  created_at: string;
};

export type AccessTables = {
  access_decisions: AccessDecisionRow;
  access_reason_sets: AccessReasonSetRow;
  access_sessions: AccessSessionRow;
  access_devices: AccessDeviceRow;
  access_profiles: AccessProfileRow;
  access_blocks: AccessBlockRow;
  access_places: AccessPlaceRow;
  access_logins: AccessLoginRow;
};
