#!/usr/bin/env node
import('../dist/cli.js')
  .then(({ main }) => main(process.argv.slice(2), process.env))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((error) => {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
      console.error('switchboard is not built: run `npm install` (or `npm run build`) first');
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  });
