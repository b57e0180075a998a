/**
 * Role-based permissions. A route that needs a permission declares it with the
 * `requirePermission(permission)` pre-handler; a route whose answer depends on a permission (an
 * operator sees everything, a key its own rows) asks `can(request, permission)`. Both read the
 * role table the server was built with (platform.roles over the defaults), so routes never test
 * roles themselves and never fall back to the defaults by accident.
 */
import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Caller } from './caller.js';
import { callOf } from '../http/context.js';

export const PERMISSIONS = ['llm.read', 'llm.execute', 'llm.configure', 'llm.manage_providers', 'llm.manage_models'] as const;
export type Permission = (typeof PERMISSIONS)[number];
export type RolePermissions = Record<string, readonly Permission[]>;

/** The only roles a caller acts in (roleOf): platform.roles entries under any other name grant nothing. */
export const ROLES = ['admin', 'user'] as const;

/** Default role sets: admin holds everything, user may list and call models. */
export const DEFAULT_ROLE_PERMISSIONS: RolePermissions = {
  admin: PERMISSIONS,
  user: ['llm.read', 'llm.execute'],
};

/** The role a caller acts in: the master key and proxy_admin users are admins, everyone else a user. */
export function roleOf(caller: Caller): (typeof ROLES)[number] {
  return caller.isAdmin ? 'admin' : 'user';
}

/** Whether the caller's role holds the permission in the given role table (no default table: pass the configured one). */
function hasPermission(caller: Caller, permission: Permission, roles: RolePermissions): boolean {
  const role = roleOf(caller);
  return (Object.hasOwn(roles, role) ? roles[role] : []).includes(permission);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Which roles hold which permissions (platform.roles), set by buildServer. */
    rolePermissions?: RolePermissions;
  }
}

function rolesOf(request: FastifyRequest): RolePermissions {
  return request.server.rolePermissions ?? DEFAULT_ROLE_PERMISSIONS;
}

/** True when the request's caller holds the permission in the server's role table (false on a public route, which has no caller). */
export function can(request: FastifyRequest, permission: Permission): boolean {
  const caller = request.call?.caller;
  return caller !== undefined && hasPermission(caller, permission, rolesOf(request));
}

/** The 403 `permission_denied` naming what the route needs and the caller's role. */
export function permissionDenied(request: FastifyRequest, permission: Permission, needs = request.routeOptions.url): GatewayError {
  return new GatewayError('permission_denied', `${needs} needs the ${permission} permission, which the ${roleOf(callOf(request).caller)} role does not have`);
}

/** The request's caller, once it is known to hold the permission; throws the 403 otherwise. */
export function callerWith(request: FastifyRequest, permission: Permission): Caller {
  if (!can(request, permission)) throw permissionDenied(request, permission);
  return callOf(request).caller;
}

/** A route pre-handler that answers 403 unless the caller holds the permission. */
export function requirePermission(permission: Permission): preHandlerHookHandler {
  return function checkPermission(request, _reply, done) {
    if (can(request, permission)) done();
    else done(permissionDenied(request, permission));
  };
}
