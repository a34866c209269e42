/**
 * @module server/access
 * Who may call a route. Every route declares its access in `config.access`; a route without one
 * admits nobody (deny by default). Public routes are an explicit, short list, checked by a test.
 */
import type {} from 'fastify';
import type { Role } from '../core/index.js';

export type RouteAccess =
  | 'public'
  | {
      /** Roles allowed; 'any' = any signed-in role. */
      roles: readonly Role[] | 'any';
      /** Allows sessions that have not finished signing in (password change, MFA steps). */
      partial?: boolean;
      /** Allows API tokens (default true); console-only routes set false. */
      tokens?: boolean;
    };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export const ANY_SIGNED_IN: RouteAccess = { roles: 'any' };
export const ADMIN_ONLY: RouteAccess = { roles: ['admin'] };
