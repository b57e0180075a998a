/**
 * deploy/compose/docker-compose.scale.yml (`docker compose … up --scale gateway=3`). No Docker
 * engine runs here, so the file's structure is checked: the replicas publish no host port and have
 * no fixed container name (either would stop a second replica), they share PostgreSQL, Redis and
 * one master key, and the proxy's upstream is the gateway service on the port it listens on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const FILE = 'deploy/compose/docker-compose.scale.yml';
const directory = dirname(resolve(FILE));
const compose = parse(readFileSync(FILE, 'utf8'));
const { gateway, proxy, db, redis } = compose.services;

/** Compose's `${VAR:-default}` with the default taken. */
function withDefaults(text: string): string {
  return text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

describe('docker compose with a scaled gateway', () => {
  it('has the gateway, the proxy, PostgreSQL and Redis', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['db', 'gateway', 'proxy', 'redis']);
    expect(db.image).toMatch(/^postgres:/);
    expect(redis.image).toMatch(/^redis:/);
  });

  it('gateway replicas publish no host port and have no fixed name, listening on 0.0.0.0:4000 inside the network', () => {
    expect(gateway.ports).toBeUndefined();
    expect(gateway.container_name).toBeUndefined();
    expect(gateway.expose).toEqual(['4000']);
    expect(gateway.command.join(' ')).toContain('start --config /app/config.yaml --host 0.0.0.0 --port 4000');
    expect(gateway.healthcheck.test.join(' ')).toContain('/health/readiness');
    expect(gateway.stop_grace_period).toBeDefined();
  });

  it('replicas share PostgreSQL, Redis and one master key that must be set', () => {
    expect(gateway.environment.DATABASE_URL).toMatch(/^postgres:\/\/.*@db:5432\//);
    expect(gateway.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(gateway.environment.SWITCHBOARD_MASTER_KEY).toMatch(/^\$\{SWITCHBOARD_MASTER_KEY:\?/);
    expect(gateway.depends_on).toEqual({ db: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    // No per-replica volume for the database: the SQLite file would be one per container.
    expect((gateway.volumes as string[]).filter((volume) => !volume.endsWith(':ro'))).toEqual([]);
  });

  it('builds from the repository and mounts a config that exists', () => {
    expect(existsSync(join(directory, gateway.build, 'Dockerfile'))).toBe(true);
    const config = withDefaults((gateway.volumes as string[])[0]).split(':')[0];
    expect(existsSync(join(directory, config))).toBe(true);
  });

  it("only the proxy publishes a port, and its upstream is every replica of the gateway service on the gateway's port", () => {
    expect(proxy.image).toMatch(/^caddy:/);
    expect(proxy.ports).toEqual(['${PROXY_PUBLISH:-127.0.0.1:4000}:4000']);
    const mount = (proxy.volumes as string[]).find((volume) => volume.endsWith(':/etc/caddy/Caddyfile:ro'))!;
    const caddyfile = readFileSync(join(directory, mount.split(':')[0]), 'utf8');
    expect(caddyfile).toMatch(/^:4000 \{/m);
    const dynamic = /dynamic a \{([^}]*)\}/.exec(caddyfile)![1];
    expect(dynamic).toMatch(/^\s*name gateway$/m);
    expect(dynamic).toMatch(/^\s*port 4000$/m);
    expect(dynamic).toMatch(/^\s*refresh \d+s$/m);
    // Streams are passed on as written.
    expect(caddyfile).toMatch(/^\s*flush_interval -1$/m);
  });
});

describe('the image', () => {
  it('listens on all interfaces inside the container, whatever the default host is', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const command = /^CMD (\[.*\])$/m.exec(dockerfile)![1];
    expect(JSON.parse(command).join(' ')).toContain('start --config /app/config.yaml --host 0.0.0.0 --port 4000');
  });
});
