/**
 * `platform.roles` took any role name, but a caller only ever acts as `admin` (the master key and
 * proxy_admin users) or `user` (everyone else; src/auth/permissions.ts roleOf). An entry such as
 * `internal_user_viewer: [llm.read]` — meant to keep viewers from calling models — was accepted
 * without a word and never applied: those users still acted as `user` and called models. Now every
 * role name other than `admin` and `user` is warned about at start and by check-config, naming the
 * role and the names that apply; the gateway still starts (the entry grants nothing, and the
 * warning says so).
 */
import { describe, expect, it } from 'vitest';
import { checkReport } from '../../src/config/check-report.js';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../support/gateway.js';

const config = (roles: string) => `
model_list: []
general_settings: {master_key: sk-test-master-key}
platform:
  roles:
${roles}
`;

const roleWarnings = (roles: string) => {
  const loaded = parseConfig(config(roles), {}, 'config.yaml');
  expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
  return loaded.issues.filter((issue) => issue.path[0] === 'platform' && issue.path[1] === 'roles');
};

describe('platform.roles names only roles a caller acts in', () => {
  it('warns about a role no caller ever has, naming it and the roles that apply', () => {
    const warnings = roleWarnings('    internal_user_viewer: [llm.read]\n    user: [llm.read, llm.execute]');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ severity: 'warning', path: ['platform', 'roles', 'internal_user_viewer'], line: 6 });
    expect(warnings[0]!.message).toContain('"internal_user_viewer"');
    expect(warnings[0]!.message).toContain('"admin"');
    expect(warnings[0]!.message).toContain('"user"');
  });

  it('warns about each unused role', () => {
    const warnings = roleWarnings('    viewer: [llm.read]\n    proxy_admin: [llm.read]');
    expect(warnings.map((issue) => issue.path[2])).toEqual(['viewer', 'proxy_admin']);
  });

  it('says nothing about admin and user', () => {
    expect(roleWarnings('    admin: [llm.read, llm.execute, llm.configure]\n    user: [llm.read]')).toEqual([]);
  });

  it('check-config reports it, and --strict fails on it', () => {
    const loaded = parseConfig(config('    internal_user_viewer: [llm.read]'), {}, 'config.yaml');
    const report = checkReport(loaded, { strict: false, allowMissingEnv: false });
    expect(report.lines.join('\n')).toMatch(/warning: platform\.roles\.internal_user_viewer: .*"internal_user_viewer"/);
    expect(checkReport(loaded, { strict: true, allowMissingEnv: false }).errors).toBeGreaterThan(0);
  });

  it('the real gateway still starts with one', async () => {
    const gateway = await startGateway(config('    internal_user_viewer: [llm.read]'));
    await gateway.close();
  });
});
