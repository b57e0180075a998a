#!/usr/bin/env node
// First the young generation's limit (src/runtime/young-generation.ts), then the gateway.
import('../dist/runtime/young-generation.js')
  .then(({ limitYoungGeneration }) => limitYoungGeneration())
  .then(() => import('../dist/cli.js'))
  .then(({ main }) => main(process.argv.slice(2), process.env))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((error) => {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist\/(cli|runtime\/young-generation)\.js/.test(String(error.message))) {
      console.error('switchboard is not built: run `npm install` (or `npm run build`) first');
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  });
