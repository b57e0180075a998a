import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { resolveConfigFile, resolveRuntimeSettings, RuntimeSettingsError } from './runtime-settings.js';

const workingDirectory = '/srv/gateway';
const configWith = (yaml: string) => parseConfig(yaml, {}).config;

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('resolveRuntimeSettings', () => {
  it('defaults: port 4000 on 127.0.0.1 (this machine only), ./data, the SQLite file in it, info plain-text logs', () => {
    const settings = resolveRuntimeSettings({}, {}, configWith('model_list: []\n'), workingDirectory);
    expect(settings).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      dataDir: '/srv/gateway/data',
      databaseUrl: 'sqlite:/srv/gateway/data/switchboard.db',
      redisUrl: undefined,
      logLevel: 'info',
      jsonLogs: false,
      uiDirectory: undefined,
    });
  });

  it('a flag wins over the environment, which wins over the default', () => {
    const env = { PORT: '5000', HOST: '0.0.0.0', SWITCHBOARD_DATA_DIR: '/var/lib/switchboard' };
    expect(resolveRuntimeSettings(env, {}, undefined, workingDirectory)).toMatchObject({ port: 5000, host: '0.0.0.0', dataDir: '/var/lib/switchboard' });
    expect(resolveRuntimeSettings(env, { port: '6000', host: '::1', dataDir: 'state' }, undefined, workingDirectory)).toMatchObject({ port: 6000, host: '::1', dataDir: '/srv/gateway/state' });
  });

  it('the master key: the config, else SWITCHBOARD_MASTER_KEY, else LITELLM_MASTER_KEY, else none (start generates one)', () => {
    const env = { SWITCHBOARD_MASTER_KEY: 'sk-from-env', LITELLM_MASTER_KEY: 'sk-from-litellm' };
    expect(resolveRuntimeSettings(env, {}, configWith('general_settings:\n  master_key: sk-from-config\n'), workingDirectory).masterKey).toBe('sk-from-config');
    expect(resolveRuntimeSettings(env, {}, configWith('model_list: []\n'), workingDirectory).masterKey).toBe('sk-from-env');
    expect(resolveRuntimeSettings({ LITELLM_MASTER_KEY: 'sk-from-litellm', SWITCHBOARD_MASTER_KEY: '' }, {}, undefined, workingDirectory).masterKey).toBe('sk-from-litellm');
    expect(resolveRuntimeSettings({}, {}, configWith('model_list: []\n'), workingDirectory).masterKey).toBeUndefined();
  });

  it('the SQLite default follows the data directory', () => {
    expect(resolveRuntimeSettings({}, { dataDir: '/tmp/elsewhere' }, undefined, workingDirectory).databaseUrl).toBe('sqlite:/tmp/elsewhere/switchboard.db');
  });

  it('the environment wins over the config, which wins over the default', () => {
    const config = configWith(
      'model_list: []\nrouter_settings:\n  redis_host: cache.internal\nlitellm_settings:\n  json_logs: true\n  set_verbose: true\ngeneral_settings:\n  database_url: postgres://db.internal/config\n',
    );
    expect(resolveRuntimeSettings({}, {}, config, workingDirectory)).toMatchObject({
      databaseUrl: 'postgres://db.internal/config',
      redisUrl: 'redis://cache.internal:6379',
      jsonLogs: true,
      logLevel: 'debug',
    });
    const env = { DATABASE_URL: 'postgres://db.internal/env', REDIS_URL: 'redis://env:6379', JSON_LOGS: 'False', LOG_LEVEL: 'warn' };
    expect(resolveRuntimeSettings(env, {}, config, workingDirectory)).toMatchObject({
      databaseUrl: 'postgres://db.internal/env',
      redisUrl: 'redis://env:6379',
      jsonLogs: false,
      logLevel: 'warn',
    });
  });

  it('reads json_logs from general_settings too', () => {
    expect(resolveRuntimeSettings({}, {}, configWith('general_settings:\n  json_logs: true\n'), workingDirectory).jsonLogs).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    expect(resolveRuntimeSettings({ PORT: '', DATABASE_URL: '' }, {}, undefined, workingDirectory)).toMatchObject({ port: 4000, databaseUrl: 'sqlite:/srv/gateway/data/switchboard.db' });
  });

  it('refuses a port or JSON_LOGS it cannot read, saying what it must be', () => {
    expect(() => resolveRuntimeSettings({}, { port: 'eighty' }, undefined, workingDirectory)).toThrow(new RuntimeSettingsError('--port (or PORT) must be a number from 0 to 65535, got "eighty"'));
    expect(() => resolveRuntimeSettings({ PORT: '70000' }, {}, undefined, workingDirectory)).toThrow(RuntimeSettingsError);
    expect(() => resolveRuntimeSettings({ JSON_LOGS: 'maybe' }, {}, undefined, workingDirectory)).toThrow('JSON_LOGS must be true or false, got "maybe"');
  });

  it('resolves SWITCHBOARD_UI_DIR against the working directory', () => {
    expect(resolveRuntimeSettings({ SWITCHBOARD_UI_DIR: 'ui-build' }, {}, undefined, workingDirectory).uiDirectory).toBe('/srv/gateway/ui-build');
  });
});

describe('resolveConfigFile', () => {
  it('--config, else SWITCHBOARD_CONFIG, else ./config.yaml, else ./config.example.yaml', () => {
    const exists = (present: string[]) => (file: string) => present.includes(file);
    expect(resolveConfigFile({ SWITCHBOARD_CONFIG: 'env.yaml' }, { config: 'flag.yaml' }, exists(['config.yaml']))).toBe('flag.yaml');
    expect(resolveConfigFile({ SWITCHBOARD_CONFIG: 'env.yaml' }, {}, exists(['config.yaml']))).toBe('env.yaml');
    expect(resolveConfigFile({}, {}, exists(['config.yaml', 'config.example.yaml']))).toBe('config.yaml');
    expect(resolveConfigFile({}, {}, exists(['config.example.yaml']))).toBe('config.example.yaml');
    expect(resolveConfigFile({}, {}, exists([]))).toBeUndefined();
  });

  it('looks for the default files in the working directory it is given', () => {
    const directory = mkdtempSync(join(tmpdir(), 'settings-'));
    directories.push(directory);
    writeFileSync(join(directory, 'config.yaml'), 'model_list: []\n');
    expect(resolveRuntimeSettings({}, {}, undefined, directory).configFile).toBe('config.yaml');
  });
});
