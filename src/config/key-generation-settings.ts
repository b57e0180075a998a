/**
 * LiteLLM's litellm_settings.key_generation_settings, as
 * litellm/proxy/management_endpoints/key_management_endpoints.py applies it (key_generation_check,
 * on /key/generate only, before default_key_generate_params fill anything in): who may create a
 * team key (team_id sent) or a personal key (none), and which params such a request must send.
 *
 * - A proxy admin (the master key, a proxy_admin user) is always allowed.
 * - Team key: the caller's role in the team must be in team_key_generation.allowed_team_member_roles.
 * - Personal key: the caller's user_role must be in personal_key_generation.allowed_user_roles.
 * - Every param in the section's required_params must be in the request body (null counts as sent).
 * A section (or a list in it) not set restricts nothing. Refusals are 400 in LiteLLM's words.
 */
import { z } from 'zod';

/** The user roles here (auth/principals.ts UserRole); LiteLLM takes any string, so another is warned about, not refused. */
const USER_ROLES = ['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'customer'];

const requiredParams = z.array(z.string().min(1)).nullable().optional();

const teamKeyGenerationSchema = z
  .object({
    allowed_team_member_roles: z.array(z.enum(['admin', 'user'])).nullable().optional(),
    required_params: requiredParams,
  })
  .passthrough();

const personalKeyGenerationSchema = z
  .object({
    allowed_user_roles: z.array(z.string().min(1)).nullable().optional(),
    required_params: requiredParams,
  })
  .passthrough();

/** StandardKeyGenerationConfig; fields LiteLLM does not read are warned about at start (unknownKeyGenerationFields). */
export const keyGenerationSettingsSchema = z
  .object({
    team_key_generation: teamKeyGenerationSchema.nullable().optional(),
    personal_key_generation: personalKeyGenerationSchema.nullable().optional(),
  })
  .passthrough();

export type KeyGenerationSettings = z.infer<typeof keyGenerationSettingsSchema>;

/** Fields of the setting that restrict nothing: one warning each at start, by path under the setting. */
export function unknownKeyGenerationFields(settings: KeyGenerationSettings | null | undefined): Array<{ path: Array<string | number>; message: string }> {
  if (!settings) return [];
  const found: Array<{ path: Array<string | number>; message: string }> = [];
  const sections = Object.keys(keyGenerationSettingsSchema.shape);
  for (const [section, value] of Object.entries(settings)) {
    if (!sections.includes(section)) {
      found.push({ path: [section], message: `key_generation_settings.${section} restricts nothing: only ${sections.join(', ')} are read (as in LiteLLM)` });
      continue;
    }
    const shape = section === 'team_key_generation' ? teamKeyGenerationSchema.shape : personalKeyGenerationSchema.shape;
    for (const field of Object.keys((value ?? {}) as object)) {
      if (!Object.hasOwn(shape, field)) found.push({ path: [section, field], message: `key_generation_settings.${section}.${field} restricts nothing: only ${Object.keys(shape).join(', ')} are read (as in LiteLLM)` });
    }
    if (section === 'personal_key_generation') {
      ((value as { allowed_user_roles?: string[] | null } | null)?.allowed_user_roles ?? []).forEach((role, index) => {
        if (!USER_ROLES.includes(role)) found.push({ path: [section, 'allowed_user_roles', index], message: `key_generation_settings.personal_key_generation.allowed_user_roles: no user here has the role "${role}" (roles: ${USER_ROLES.join(', ')})` });
      });
    }
  }
  return found;
}

/** A list as Python prints it, as LiteLLM's messages show them: ['admin', 'user']. */
function pythonList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item}'`).join(', ')}]`;
}

/** LiteLLM's _key_generation_required_param_check: the first required param not in the body. */
function missingParam(body: Record<string, unknown>, required: readonly string[] | null | undefined): string | undefined {
  const missing = (required ?? []).find((param) => !Object.hasOwn(body, param));
  return missing === undefined ? undefined : `Required param ${missing} not in data`;
}

/**
 * Why a non-admin may not create a team key with this body (LiteLLM's _team_key_generation_check),
 * given its role in the team; undefined when it may. Without a body, the role alone (a key moved
 * into the team: its fields were given when it was made). A caller outside the team is left to the
 * ordinary membership check.
 */
export function teamKeyRefusal(settings: KeyGenerationSettings | null | undefined, teamRole: string, body: Record<string, unknown> | undefined): string | undefined {
  const section = settings?.team_key_generation;
  if (!section) return undefined;
  const roles = section.allowed_team_member_roles;
  if (roles && !(roles as readonly string[]).includes(teamRole)) return `Team member role ${teamRole} not in allowed_team_member_roles=${pythonList(roles)}`;
  return body === undefined ? undefined : missingParam(body, section.required_params);
}

/** Why a non-admin with `userRole` may not create a personal key with this body (LiteLLM's _personal_key_generation_check). */
export function personalKeyRefusal(settings: KeyGenerationSettings | null | undefined, userRole: string, body: Record<string, unknown> | undefined): string | undefined {
  const section = settings?.personal_key_generation;
  if (!section) return undefined;
  const roles = section.allowed_user_roles;
  if (roles && !(roles as readonly string[]).includes(userRole)) return `Personal key creation has been restricted by admin. Allowed roles=${pythonList(roles)}. Your role=${userRole}`;
  return body === undefined ? undefined : missingParam(body, section.required_params);
}
