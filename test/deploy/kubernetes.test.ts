/**
 * deploy/kubernetes: every manifest of the base, and of the base with the postgres-redis overlay's
 * patches applied, validates against the Kubernetes schemas (the kubernetes-models validators:
 * types, required fields, enums; they do not refuse unknown keys, so the fields that matter are
 * also asserted one by one). The test builds the kustomizations itself — the labels and images
 * transformers, the secret generators (from the .example env files), RFC 6902 JSON patches and a
 * `$patch: delete` — and, where kubectl is installed, checks `kubectl kustomize`'s own output the
 * same way.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Secret, ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { commandAvailable } from './tools.js';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };
type Operation = { op: 'add' | 'replace' | 'remove' | 'test'; path: string; value?: unknown };

const BASE = 'deploy/kubernetes/base';
const OVERLAY = 'deploy/kubernetes/overlays/postgres-redis';

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Deployment,
  Service,
  ConfigMap,
  Secret,
  PersistentVolumeClaim,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
};

function validate(manifest: Manifest): void {
  const Model = MODELS[manifest.kind];
  if (!Model) throw new Error(`no schema for kind ${manifest.kind}`);
  new Model(structuredClone(manifest)).validate();
}

function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS() as Manifest);
}

function envFile(file: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) entries[match[1]] = match[2];
  }
  return entries;
}

function generatedSecrets(directory: string, kustomization: any): Manifest[] {
  return (kustomization.secretGenerator ?? []).map((generator: { name: string; envs: string[] }) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: generator.name },
    type: 'Opaque',
    stringData: Object.assign({}, ...generator.envs.map((file) => envFile(join(directory, `${file}.example`)))),
  }));
}

/** The base as `kustomize build` makes it (names of generated Secrets without their hash suffix). */
function buildBase(): Manifest[] {
  const kustomization = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8'));
  const manifests = [...kustomization.resources.flatMap((file: string) => readManifests(join(BASE, file))), ...generatedSecrets(BASE, kustomization)];
  for (const { pairs, includeSelectors } of kustomization.labels ?? []) {
    for (const manifest of manifests) {
      manifest.metadata.labels = { ...manifest.metadata.labels, ...pairs };
      if (!includeSelectors) continue;
      if (manifest.kind === 'Deployment') {
        Object.assign(manifest.spec.selector.matchLabels, pairs);
        manifest.spec.template.metadata.labels = { ...manifest.spec.template.metadata.labels, ...pairs };
      }
      if (manifest.kind === 'Service') Object.assign(manifest.spec.selector, pairs);
      if (manifest.kind === 'PodDisruptionBudget') Object.assign(manifest.spec.selector.matchLabels, pairs);
    }
  }
  for (const image of kustomization.images ?? []) {
    for (const manifest of manifests.filter((item) => item.kind === 'Deployment')) {
      for (const container of manifest.spec.template.spec.containers) {
        if (container.image === image.name) container.image = `${image.newName}:${image.newTag}`;
      }
    }
  }
  return manifests;
}

function pointer(path: string): string[] {
  return path.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add / replace / remove / test, failing (as kustomize does) on a path that is not there. */
function applyJsonPatch(document: any, operations: Operation[]): void {
  for (const operation of operations) {
    const parts = pointer(operation.path);
    const last = parts.pop()!;
    let parent = document;
    for (const part of parts) {
      if (parent === undefined || !(part in parent)) throw new Error(`${operation.op} ${operation.path}: no ${part}`);
      parent = parent[part];
    }
    const exists = Array.isArray(parent) ? last === '-' || Number(last) < parent.length : last in parent;
    if (operation.op !== 'add' && !exists) throw new Error(`${operation.op} ${operation.path}: not there`);
    if (operation.op === 'test') {
      expect(parent[last], `test ${operation.path}`).toEqual(operation.value);
    } else if (operation.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (Array.isArray(parent) && operation.op === 'add') {
      parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(operation.value));
    } else {
      parent[last] = structuredClone(operation.value);
    }
  }
}

function buildOverlay(): Manifest[] {
  const kustomization = parse(readFileSync(join(OVERLAY, 'kustomization.yaml'), 'utf8'));
  expect(kustomization.resources).toEqual(['../../base']);
  let manifests = [...buildBase(), ...generatedSecrets(OVERLAY, kustomization)];
  for (const patch of kustomization.patches) {
    const body = parse(readFileSync(join(OVERLAY, patch.path), 'utf8'));
    if (Array.isArray(body)) {
      const targets = manifests.filter((manifest) => manifest.kind === patch.target.kind && manifest.metadata.name === patch.target.name);
      expect(targets, `target of ${patch.path}`).toHaveLength(1);
      applyJsonPatch(targets[0], body);
    } else {
      expect(body.$patch, patch.path).toBe('delete');
      const before = manifests.length;
      manifests = manifests.filter((manifest) => !(manifest.kind === body.kind && manifest.metadata.name === body.metadata.name));
      expect(manifests.length, `${patch.path} deletes one resource`).toBe(before - 1);
    }
  }
  return manifests;
}

function one(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
}

function subset(labels: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(labels).every(([key, value]) => of[key] === value);
}

/** What holds for the base and the overlay alike. */
function checkConsistency(manifests: Manifest[]): void {
  for (const manifest of manifests) expect(() => validate(manifest), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
  const deployment = one(manifests, 'Deployment');
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0];
  expect(subset(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
  expect(subset(one(manifests, 'Service').spec.selector, pod.metadata.labels)).toBe(true);
  expect(subset(one(manifests, 'PodDisruptionBudget').spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
  expect(one(manifests, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  expect(one(manifests, 'Service').spec.ports[0].targetPort).toBe('http');
  expect(container.ports).toEqual([{ name: 'http', containerPort: 4000, protocol: 'TCP' }]);

  // Reachable from other pods, on the port the probes and the Service use.
  expect(container.args.join(' ')).toBe('start --config /etc/switchboard/config.yaml --data-dir /app/data --host 0.0.0.0 --port 4000');
  expect(container.livenessProbe.httpGet).toEqual({ path: '/health/liveliness', port: 'http' });
  expect(container.readinessProbe.httpGet).toEqual({ path: '/health/readiness', port: 'http' });
  expect(container.resources.requests).toBeDefined();
  expect(container.resources.limits.memory).toBeDefined();

  // Non-root, read-only root filesystem; the data directory and /tmp are volumes.
  expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
  expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const volumes = new Map(pod.spec.volumes.map((volume: { name: string }) => [volume.name, volume]));
  for (const mount of container.volumeMounts) expect(volumes.has(mount.name), mount.name).toBe(true);
  expect(container.volumeMounts.map((mount: { mountPath: string }) => mount.mountPath).sort()).toEqual(['/app/data', '/etc/switchboard', '/tmp']);
  for (const volume of pod.spec.volumes) {
    if (volume.configMap) expect(manifests.some((item) => item.kind === 'ConfigMap' && item.metadata.name === volume.configMap.name)).toBe(true);
    if (volume.persistentVolumeClaim) expect(manifests.some((item) => item.kind === 'PersistentVolumeClaim' && item.metadata.name === volume.persistentVolumeClaim.claimName)).toBe(true);
  }

  // The master key and provider keys come from a Secret; every Secret named exists and has the key.
  const secrets = new Map(manifests.filter((item) => item.kind === 'Secret').map((item) => [item.metadata.name, item]));
  for (const source of container.envFrom) expect(secrets.has(source.secretRef.name), source.secretRef.name).toBe(true);
  for (const variable of container.env.filter((entry: any) => entry.valueFrom)) {
    const reference = variable.valueFrom.secretKeyRef;
    expect(secrets.get(reference.name)?.stringData, variable.name).toHaveProperty(reference.key);
  }
  expect(Object.keys(secrets.get('switchboard-secrets')!.stringData)).toContain('SWITCHBOARD_MASTER_KEY');
}

describe('Kubernetes manifests', () => {
  it('base: every resource file is listed, every manifest validates, and the pieces fit together', () => {
    const kustomization = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8'));
    const files = readdirSync(BASE).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    const manifests = buildBase();
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Secret', 'Service']);
    checkConsistency(manifests);

    // One writer for the SQLite file: one replica, replaced (not rolled) on updates.
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(one(manifests, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    expect(deployment.spec.template.spec.containers[0].env.map((entry: { name: string }) => entry.name)).not.toContain('DATABASE_URL');
    // The secrets file itself is never in the repository: the generator needs the operator's copy.
    expect(kustomization.secretGenerator[0].envs).toEqual(['secrets.env']);
    expect(existsSync(join(BASE, 'secrets.env.example'))).toBe(true);
    expect(readFileSync('.gitignore', 'utf8')).toContain('deploy/kubernetes/base/secrets.env');
  });

  it("base: the ConfigMap's config.yaml is a valid gateway config without a master key", () => {
    const configMap = one(buildBase(), 'ConfigMap');
    const env = Object.fromEntries(Object.keys(envFile(join(BASE, 'secrets.env.example'))).map((name) => [name, 'set']));
    const loaded = parseConfig(configMap.data['config.yaml'], env, 'configmap.yaml');
    expect(loaded.issues).toEqual([]);
    expect(loaded.config.general_settings.master_key).toBeUndefined();
    expect(loaded.config.model_list.length).toBeGreaterThan(0);
  });

  it('overlay postgres-redis: its patches apply, and give 2–10 replicas on PostgreSQL and Redis with no volume claim', () => {
    const manifests = buildOverlay();
    checkConsistency(manifests);
    expect(manifests.some((manifest) => manifest.kind === 'PersistentVolumeClaim')).toBe(false);
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const pod = deployment.spec.template.spec;
    expect(pod.volumes.find((volume: { name: string }) => volume.name === 'data')).toEqual({ name: 'data', emptyDir: { sizeLimit: '1Gi' } });
    const env = pod.containers[0].env;
    expect(env.find((entry: { name: string }) => entry.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({ name: 'switchboard-datastores', key: 'DATABASE_URL' });
    expect(env.find((entry: { name: string }) => entry.name === 'REDIS_URL').valueFrom.secretKeyRef).toEqual({ name: 'switchboard-datastores', key: 'REDIS_URL' });
    const datastores = envFile(join(OVERLAY, 'datastores.env.example'));
    expect(datastores.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(datastores.REDIS_URL).toMatch(/^redis:\/\//);
    expect(one(manifests, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(one(manifests, 'PodDisruptionBudget').spec).toEqual({ minAvailable: 1, selector: expect.anything() });
  });

  it('the JSON patch application used above fails on a path that is not there', () => {
    expect(() => applyJsonPatch({ spec: {} }, [{ op: 'replace', path: '/spec/replicas', value: 2 }])).toThrow('not there');
    expect(() => applyJsonPatch({ spec: { volumes: [{ name: 'config' }] } }, [{ op: 'test', path: '/spec/volumes/0/name', value: 'data' }])).toThrow();
    expect(() => validate({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } })).toThrow('must be integer');
  });

  describe.skipIf(!commandAvailable('kubectl'))('with kubectl kustomize', () => {
    const run = promisify(execFile);

    /** `kubectl kustomize DIR` on a copy of deploy/kubernetes, with the .example env files in place unless told otherwise. */
    async function kustomize(directory: string, withSecrets = true): Promise<Manifest[]> {
      const copy = mkdtempSync(join(tmpdir(), 'switchboard-kustomize-'));
      try {
        cpSync('deploy/kubernetes', copy, { recursive: true });
        if (withSecrets) {
          copyFileSync(join(copy, 'base/secrets.env.example'), join(copy, 'base/secrets.env'));
          copyFileSync(join(copy, 'overlays/postgres-redis/datastores.env.example'), join(copy, 'overlays/postgres-redis/datastores.env'));
        }
        const { stdout } = await run('kubectl', ['kustomize', join(copy, directory)], { timeout: 60_000 });
        return parseAllDocuments(stdout).map((document) => normalize(document.toJS() as Manifest));
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    }

    /** Generated Secrets without their content hash suffix, and with their data decoded, as the emulated build has them. */
    function normalize(manifest: Manifest): Manifest {
      const text = JSON.stringify(manifest).replace(/"(switchboard-(?:secrets|datastores))-[a-z0-9]{10}"/g, '"$1"');
      const result = JSON.parse(text) as Manifest;
      if (result.kind === 'Secret' && result.data) {
        result.stringData = Object.fromEntries(Object.entries(result.data as Record<string, string>).map(([key, value]) => [key, Buffer.from(value.replace(/\s/g, ''), 'base64').toString('utf8')]));
        delete result.data;
      }
      return result;
    }

    function byName(manifests: Manifest[]): Map<string, Manifest> {
      return new Map(manifests.map((manifest) => [`${manifest.kind}/${manifest.metadata.name}`, manifest]));
    }

    it('builds the base and the overlay into the same manifests as above, which validate', async () => {
      for (const [directory, emulated] of [['base', buildBase()], ['overlays/postgres-redis', buildOverlay()]] as const) {
        const built = await kustomize(directory);
        checkConsistency(built);
        const real = byName(built);
        const ours = byName(emulated);
        expect([...real.keys()].sort(), directory).toEqual([...ours.keys()].sort());
        for (const [name, manifest] of ours) {
          expect(real.get(name), `${directory}: ${name}`).toEqual(manifest);
        }
      }
    }, 120_000);

    it("refuses to build without the operator's secrets.env", async () => {
      await expect(kustomize('base', false)).rejects.toThrow(/secrets\.env/);
    }, 60_000);
  });
});
