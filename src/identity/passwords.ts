/**
 * @module identity/passwords
 * argon2id password hashing (OWASP's recommended parameters: m=19 MiB, t=2, p=1) and the password
 * policy. One-time passwords are random and long enough that guessing is hopeless.
 */

import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { VigilError } from '../core/index.js';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum in the typings, so its value is spelled out)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const MAX_PASSWORD_LENGTH = 1024;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the username is unknown so timing reveals nothing. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64'));
  return dummyHash;
}

/** A one-time password: 20 characters from an unambiguous alphabet (about 100 bits). */
export function generateOneTimePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(40);
  let out = '';
  for (const b of bytes) {
    if (b >= 256 - (256 % alphabet.length)) continue; // no modulo bias
    out += alphabet[b % alphabet.length];
    if (out.length === 20) break;
  }
  return out.length === 20 ? out : generateOneTimePassword();
}

/** Throws a 400 naming the problem when a new password is too weak. */
export function checkPasswordPolicy(password: string, minLength: number, username: string): void {
  if (password.length < minLength) {
    throw new VigilError('BAD_REQUEST', `The new password must be at least ${minLength} characters long`, {
      details: { field: 'newPassword' },
    });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new VigilError(
      'BAD_REQUEST',
      `The new password must be at most ${MAX_PASSWORD_LENGTH} characters long`,
      {
        details: { field: 'newPassword' },
      },
    );
  }
  if (password.toLowerCase().includes(username.toLowerCase())) {
    throw new VigilError('BAD_REQUEST', 'The new password must not contain the username', {
      details: { field: 'newPassword' },
    });
  }
  if (new Set(password).size < 5) {
    throw new VigilError('BAD_REQUEST', 'The new password repeats too few characters; choose a passphrase', {
      details: { field: 'newPassword' },
    });
  }
}
