#!/usr/bin/env node
/**
 * Sums a .cpuprofile's self time by function and by file (node bench/cpuprofile-summary.js FILE
 * [TOP]). Idle, program and garbage-collector samples are listed apart, and shares are of the busy
 * time (all samples but idle), so two profiles of different lengths compare.
 */
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-summary.js FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg || 40);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
for (let index = 0; index < profile.samples.length; index++) {
  const id = profile.samples[index];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
}
const byFunction = new Map();
const byFile = new Map();
let busy = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  if (functionName === '(idle)') {
    idle += us;
    continue;
  }
  busy += us;
  const shortUrl = url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  const name = `${functionName || '(anonymous)'} ${shortUrl}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const fileName = shortUrl || functionName;
  byFile.set(fileName, (byFile.get(fileName) ?? 0) + us);
}
const print = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(2).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(`busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
print('self time by function (share of busy time)', byFunction);
print('self time by file', byFile);
