/**
 * Role-based permissions. Every management route asks for one permission through
 * `requirePermission`; which roles hold which permissions is decided here (and, once configured,
 * by the platform settings), so routes never test roles themselves.
 */
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Caller } from './caller.js';
import { callOf } from '../http/context.js';

export const PERMISSIONS = ['llm.read', 'llm.execute', 'llm.configure', 'llm.manage_providers', 'llm.manage_models'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Default role sets: admin holds everything, user may list and call models. */
export const DEFAULT_ROLE_PERMISSIONS: Record<string, readonly Permission[]> = {
  admin: PERMISSIONS,
  user: ['llm.read', 'llm.execute'],
};

/** The role a caller acts in: the master key and proxy_admin users are admins, everyone else a user. */
export function roleOf(caller: Caller): string {
  return caller.isAdmin ? 'admin' : 'user';
}

export function hasPermission(caller: Caller, permission: Permission, roles: Record<string, readonly Permission[]> = DEFAULT_ROLE_PERMISSIONS): boolean {
  const role = roleOf(caller);
  return (Object.hasOwn(roles, role) ? roles[role] : []).includes(permission);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Which roles hold which permissions (platform.roles), set by buildServer. */
    rolePermissions?: Record<string, readonly Permission[]>;
  }
}

/** Throws 403 `permission_denied` naming the permission the route needs. */
export function requirePermission(request: FastifyRequest, permission: Permission): Caller {
  const caller = callOf(request).caller;
  if (!hasPermission(caller, permission, request.server.rolePermissions ?? DEFAULT_ROLE_PERMISSIONS)) {
    throw new GatewayError('permission_denied', `${request.routeOptions.url} needs the ${permission} permission, which the ${roleOf(caller)} role does not have`);
  }
  return caller;
}
