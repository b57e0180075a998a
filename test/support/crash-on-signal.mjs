// Preloaded into a gateway process by tests (NODE_OPTIONS=--import): SIGUSR2 makes the process fail
// as a bug would — an error thrown outside any request (CRASH_KIND=throw, the default) or a promise
// rejected with no handler (CRASH_KIND=rejection).
process.on('SIGUSR2', () => {
  setImmediate(() => {
    if (process.env.CRASH_KIND === 'rejection') void Promise.reject(new Error('injected rejection'));
    else throw new Error('injected crash');
  });
});
