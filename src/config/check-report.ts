/**
 * `switchboard check-config`'s report of a loaded config: the loader's issues, then each model that
 * would start unavailable, under the `--strict` and `--allow-missing-env` flags.
 */
import { buildDeployments } from './deployments.js';
import { formatIssue, type LoadedConfig } from './load.js';

/**
 * What check-config prints and whether it fails. Every problem the loader found, then each model
 * that would start unavailable, with its reason. `--allow-missing-env` makes unset variables (and
 * the models they leave without a key) warnings, so a config can be checked without its secrets;
 * `--strict` makes every remaining warning an error, for CI.
 */
export function checkReport(loaded: LoadedConfig, options: { strict: boolean; allowMissingEnv: boolean }): { lines: string[]; errors: number; warnings: number } {
  const file = loaded.file;
  const issues = loaded.issues.map((issue) => {
    if (options.allowMissingEnv && issue.kind === 'missing-env') return { ...issue, severity: 'warning' as const };
    if (options.strict && issue.severity === 'warning') return { ...issue, severity: 'error' as const, message: `${issue.message} [--strict]` };
    return issue;
  });
  const lines = issues.map((issue) => formatIssue(issue, file));
  let errors = issues.filter((issue) => issue.severity === 'error').length;
  let warnings = issues.length - errors;
  // Past fatal problems the models are not worth listing (an unset variable is not one under --allow-missing-env).
  if (loaded.issues.some((issue) => issue.fatal && !(options.allowMissingEnv && issue.kind === 'missing-env'))) {
    lines.push(`${file}: ${errors} error(s), ${warnings} warning(s)`);
    return { lines, errors, warnings };
  }
  const deployments = buildDeployments(loaded);
  // Models left unavailable for a reason the loader has not already reported at their line.
  const reported = new Set(loaded.issues.filter((issue) => issue.kind === 'unavailable-model' || issue.kind === 'missing-env').map((issue) => issue.path[1]));
  // buildDeployments keeps model_list's order, one deployment per entry.
  deployments.forEach((deployment, index) => {
    if (deployment.available || reported.has(index)) return;
    // Without its environment (--allow-missing-env), a model left without its key, AWS credentials,
    // region or project is expected; otherwise --strict fails on it.
    const severity = options.strict && !(options.allowMissingEnv && deployment.unavailableForEnvironment === true) ? 'error' : 'warning';
    if (severity === 'error') errors++;
    else warnings++;
    lines.push(`${file ?? 'config'}: ${severity}: model_list[${index}]: model "${deployment.modelName}" (${deployment.provider}/${deployment.upstreamModel}) is unavailable: ${deployment.unavailableReason}${severity === 'error' ? ' [--strict]' : ''}`);
  });
  if (errors > 0) {
    lines.push(`${file}: ${errors} error(s), ${warnings} warning(s)`);
    return { lines, errors, warnings };
  }
  const groups = new Set(deployments.map((deployment) => deployment.modelName));
  const available = deployments.filter((deployment) => deployment.available).length;
  lines.push(`${file}: ok — ${groups.size} model(s), ${deployments.length} deployment(s) (${available} available), ${warnings} warning(s)`);
  return { lines, errors, warnings };
}
