// Every process a test starts (natsync nodes, nats-servers) is registered here, so that
// none outlives its test file. A child process left running keeps Node's event loop
// alive: the file would never end and the test runner would wait for it forever (how
// one CI run hung until its limit, after a cluster failed half-way through starting).
'use strict';

const alive = new Set();

// Registers `proc` until it exits; returns it.
function track(proc) {
  alive.add(proc);
  proc.once('exit', () => alive.delete(proc));
  return proc;
}

function killAll() {
  for (const proc of alive) {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGCONT');  // a test may have frozen it with SIGSTOP
      proc.kill('SIGKILL');
    }
  }
}

// Under `node --test` (which sets NODE_TEST_CONTEXT in each file's process): once the
// file's tests are done, whatever its own `after` hooks have not stopped within
// LEFT_RUNNING_GRACE_MS is reported and killed. The timer is unref'd: when everything
// stopped, the file ends at once. Elsewhere (soak, bench, conformance) only the exit hook.
const LEFT_RUNNING_GRACE_MS = 30000;
if (process.env.NODE_TEST_CONTEXT) {
  require('node:test').after(() => {
    setTimeout(() => {
      const left = [...alive].filter((p) => p.exitCode === null && p.signalCode === null);
      if (left.length) process.stderr.write(`children.js: killing ${left.length} process(es) left running: ${left.map((p) => p.spawnfile).join(', ')}\n`);
      killAll();
    }, LEFT_RUNNING_GRACE_MS).unref();
  });
}
process.on('exit', killAll);

module.exports = { track, killAll };
