/** The command-line side of `switchboard backup` and `switchboard restore` (see ./backup.ts). */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { resolveRuntimeSettings, type Environment } from '../config/runtime-settings.js';
import { backupDatabase, BackupError, restoreDatabase, sqliteFileFrom } from './backup.js';

const COMMON = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
} as const;

/** The SQLite file the gateway would open with these flags and this environment (as `migrate` resolves it). */
async function databaseFile(values: { config?: string; 'data-dir'?: string }, env: Environment): Promise<string> {
  const loaded = values.config ? await loadConfigFile(values.config, env) : undefined;
  const settings = resolveRuntimeSettings(loaded?.env ?? env, { config: values.config, dataDir: values['data-dir'] }, loaded?.config);
  return sqliteFileFrom(settings.databaseUrl);
}

export async function backupCommand(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, allowPositionals: false });
  if (!values.out) {
    console.error('usage: switchboard backup --out FILE|DIR [--force] [--config FILE] [--data-dir DIR]');
    return 2;
  }
  try {
    const source = await databaseFile(values, env);
    const outcome = await backupDatabase(source, values.out, { force: values.force });
    console.log(`backed up ${source} to ${outcome.file} (${outcome.bytes} bytes, ${outcome.usageRows} usage rows, ${outcome.migrations.length} migrations; integrity ok)`);
    return 0;
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    console.error(`switchboard backup: ${error.message}`);
    return 1;
  }
}

export async function restoreCommand(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON, from: { type: 'string', short: 'f' } }, allowPositionals: false });
  if (!values.from) {
    console.error('usage: switchboard restore --from FILE [--config FILE] [--data-dir DIR]');
    return 2;
  }
  try {
    const target = await databaseFile(values, env);
    const outcome = await restoreDatabase(target, values.from);
    console.log(
      `restored ${target} from ${values.from} (${outcome.usageRows} usage rows, ${outcome.migrations.length} migrations)` +
        (outcome.previous ? `; the database it replaced is kept as ${outcome.previous}` : '; there was no database there before'),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    console.error(`switchboard restore: ${error.message}`);
    return 1;
  }
}
