#!/usr/bin/env node
// First the young generation's limit (src/runtime/young-generation.ts), then the gateway: one
// bundled module, dist/switchboard.js (scripts/bundle.js). NODE_OPTIONS=--enable-source-maps maps its stack
// traces to src/ (off by default: parsing the map costs ~300 ms of CPU at every start).
import('../dist/runtime/young-generation.js')
  .then(({ limitYoungGeneration }) => limitYoungGeneration())
  .then(() => import('../dist/switchboard.js'))
  .then(({ main }) => main(process.argv.slice(2), process.env))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((error) => {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist\/(switchboard|runtime\/young-generation)\.js/.test(String(error.message))) {
      console.error('switchboard is not built: run `npm install` (or `npm run build`) first');
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  });
