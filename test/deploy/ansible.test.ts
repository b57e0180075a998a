/**
 * The Ansible role (deploy/ansible): `ansible-playbook --syntax-check` and `ansible-lint` pass, and
 * its templates, rendered with the example inventory, give a config the gateway accepts (check-config)
 * and systemd units that `systemd-analyze verify` accepts and that carry the same hardening as
 * deploy/systemd/switchboard.service.
 *
 * Needs Debian's `ansible` and `ansible-lint`: skipped (with the reason printed) where they are
 * missing, failing under CI=true, where .ci/run installs them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commandAvailable } from './tools.js';

const run = promisify(execFile);
const ansibleDirectory = resolve('deploy/ansible');
const role = join(ansibleDirectory, 'roles/switchboard');
const missing = ['ansible-playbook', 'ansible-lint'].filter((tool) => !commandAvailable(tool));
if (missing.length > 0 && process.env.CI !== 'true') console.warn(`test/deploy/ansible.test.ts skipped: ${missing.join(' and ')} not installed (apt-get install ansible ansible-lint)`);
const work = mkdtempSync(join(tmpdir(), 'switchboard-ansible-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ENV = { ...process.env, ANSIBLE_NOCOLOR: '1', NO_COLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_HOME: join(work, 'home') };

async function ansible(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: ansibleDirectory, env: { ...ENV, ...env }, maxBuffer: 10 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

const TEMPLATES = ['config.yaml', 'switchboard.env', 'switchboard.service', 'switchboard-backup.service', 'switchboard-backup.timer'];

/** Renders the role's templates for the example inventory's host into DIR, through a role with the real defaults and templates. */
async function render(out: string): Promise<void> {
  const roles = join(work, 'roles');
  mkdirSync(join(roles, 'switchboard/tasks'), { recursive: true });
  mkdirSync(out, { recursive: true });
  symlinkSync(join(role, 'defaults'), join(roles, 'switchboard/defaults'));
  symlinkSync(join(role, 'templates'), join(roles, 'switchboard/templates'));
  writeFileSync(
    join(roles, 'switchboard/tasks/main.yml'),
    `---\n- name: Render\n  ansible.builtin.template:\n    src: "{{ item }}.j2"\n    dest: "${out}/{{ item }}"\n    mode: "0600"\n  loop: ${JSON.stringify(TEMPLATES)}\n`,
  );
  const playbook = join(work, 'render.yml');
  writeFileSync(playbook, '---\n- name: Render the templates\n  hosts: switchboard\n  connection: local\n  gather_facts: false\n  roles: [switchboard]\n');
  const result = await ansible(
    'ansible-playbook',
    ['-i', 'inventory.example.yml', playbook, '-e', 'vault_switchboard_master_key=sk-rendered-key-0123456789', '-e', 'switchboard_node_arch=x64', '-e', `switchboard_node_dir=${dirname(dirname(process.execPath))}`, '-e', 'ansible_python_interpreter=/usr/bin/python3'],
    { ANSIBLE_ROLES_PATH: roles },
  );
  expect(result.output).toMatch(/failed=0/);
  expect(result.code).toBe(0);
}

/** `Key=value` lines of a unit file, by key (repeated keys keep every value). */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) map.set(match[1], [...(map.get(match[1]) ?? []), match[2]]);
  }
  return map;
}

describe.skipIf(missing.length > 0 && process.env.CI !== 'true')('Ansible role', () => {
  it('has the tools (CI installs them)', () => {
    expect(missing, `missing: ${missing.join(', ')}`).toEqual([]);
  });

  it('passes ansible-playbook --syntax-check', async () => {
    const result = await ansible('ansible-playbook', ['-i', 'inventory.example.yml', 'site.yml', '--syntax-check']);
    expect(result.output).toContain('playbook: site.yml');
    expect(result.code).toBe(0);
  });

  it('passes ansible-lint (production profile)', async () => {
    const result = await ansible('ansible-lint', ['--nocolor', '--profile', 'production', '--offline', 'site.yml', 'roles/switchboard']);
    expect(result.output).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    expect(result.code, result.output).toBe(0);
  }, 120_000);

  it('renders a config the gateway accepts, for two Ollama servers, with the master key only in the 0600 environment file', async () => {
    const out = join(work, 'rendered');
    await render(out);
    const config = parse(readFileSync(join(out, 'config.yaml'), 'utf8'));
    expect(config.model_list.map((entry: { litellm_params: { api_base: string } }) => entry.litellm_params.api_base)).toEqual(['http://192.0.2.21:11434', 'http://192.0.2.22:11434']);
    expect(config.general_settings.master_key).toBeUndefined();
    const { stdout } = await run(process.execPath, ['bin/switchboard.js', 'check-config', join(out, 'config.yaml')]);
    expect(stdout).toContain('ok — 1 model(s), 2 deployment(s) (2 available), 0 warning(s)');
    expect(readFileSync(join(out, 'switchboard.env'), 'utf8')).toContain('SWITCHBOARD_MASTER_KEY=sk-rendered-key-0123456789\n');
    const tasks = parse(readFileSync(join(role, 'tasks/config.yml'), 'utf8')) as Array<{ 'ansible.builtin.template'?: { src: string; mode: string }; no_log?: boolean }>;
    const environmentFile = tasks.find((task) => task['ansible.builtin.template']?.src === 'switchboard.env.j2')!;
    expect(environmentFile['ansible.builtin.template']!.mode).toBe('0600');
    expect(environmentFile.no_log).toBe(true);

    const unit = directives(readFileSync(join(out, 'switchboard.service'), 'utf8'));
    expect(unit.get('ExecStart')![0]).toContain('start --config /etc/switchboard/config.yaml --data-dir /var/lib/switchboard --host 0.0.0.0 --port 4000');
    expect(unit.get('ExecStartPost')![0]).toContain('wait-ready.mjs http://127.0.0.1:4000 60');
    // The role's unit keeps every hardening line of the plain unit.
    const plain = directives(readFileSync('deploy/systemd/switchboard.service', 'utf8'));
    for (const key of ['Type', 'User', 'ProtectSystem', 'ReadWritePaths', 'EnvironmentFile', 'Restart', 'NoNewPrivileges', 'PrivateTmp', 'ProtectHome', 'CapabilityBoundingSet', 'SystemCallFilter', 'SystemCallErrorNumber', 'RestrictAddressFamilies', 'UMask', 'ExecReload', 'KillSignal', 'TimeoutStopSec']) {
      expect(unit.get(key), key).toEqual(plain.get(key));
    }
    expect(directives(readFileSync(join(out, 'switchboard-backup.service'), 'utf8')).get('ExecStart')![0]).toContain('backup --config /etc/switchboard/config.yaml --data-dir /var/lib/switchboard --out /var/backups/switchboard');

    if (commandAvailable('systemd-analyze')) {
      for (const name of ['switchboard.service', 'switchboard-backup.service', 'switchboard-backup.timer']) {
        const result = await run('systemd-analyze', ['verify', '--man=no', join(out, name)]).then(
          ({ stderr }) => ({ code: 0, stderr }),
          (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
        );
        expect(result.stderr, name).toBe('');
        expect(result.code, name).toBe(0);
      }
    } else {
      console.warn('systemd-analyze not installed: the rendered units were not verified');
    }
  }, 120_000);
});
