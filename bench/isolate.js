'use strict';
/**
 * Runs one benchmark task in a fresh child process (bench/worker.js) and returns its reply.
 * Every (row, implementation) gets its own process: on a 2-core machine, a library that ran
 * earlier in the same process (tfjs's large heaps and V8's background GC threads above all)
 * takes cycles from the threads of the next one and slowed rnnkit's 2-thread times by ~40%.
 * The advanced (structured clone) serialization carries Float32Arrays as they are.
 */
const { fork } = require('child_process');
const path = require('path');

const WORKER = path.join(__dirname, 'worker.js');

let childCpu = 0;

/** CPU seconds used by all finished children: our own work, not foreign load (machine.js). */
function childCpuSeconds() {
  return childCpu;
}

/** rnnkit's tuning variables, which a run of its default settings must not inherit. */
const TUNING_VARIABLES = ['RNNKIT_NUM_THREADS', 'RNNKIT_CPU_FUSED', 'RNNKIT_CPU_SPLIT'];

/**
 * The environment of a child: ours, with RNNKIT_ISA set to `isa` when given (rnnkit reads it
 * at load, so every kernel of that process runs that ISA), and without rnnkit's tuning
 * variables (RNNKIT_NUM_THREADS above all) when `defaults`.
 */
function childEnv({ isa, defaults } = {}) {
  const env = { ...process.env };
  if (isa) env.RNNKIT_ISA = isa;
  if (defaults) for (const v of TUNING_VARIABLES) delete env[v];
  return env;
}

/**
 * @param {object} task see worker.js
 * @param {{isa?: string, defaults?: boolean}} [options] see childEnv
 * @returns {Promise<object>} the worker's reply; rejects with the worker's error, or when it
 *   died without replying. Resolves only once the child has exited, so that nothing of it
 *   is left running when the next measurement starts.
 */
function runInChild(task, options) {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], {
      execArgv: ['--expose-gc'],
      env: childEnv(options),
      serialization: 'advanced',
      // The child's stdout goes to our stderr: our stdout is the report alone.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    let reply = null;
    child.on('message', (m) => {
      reply = m;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!reply) return reject(new Error(`benchmark worker exited (${signal ?? `code ${code}`}) without a result`));
      childCpu += reply.cpuSeconds;
      if (reply.error) return reject(new Error(reply.error));
      resolve(reply);
    });
    child.send(task);
  });
}

module.exports = { runInChild, childCpuSeconds, childEnv, TUNING_VARIABLES };
