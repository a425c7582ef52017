// `npm run fuzz`: a long fuzzing campaign over the same properties as test/fuzz.test.ts.
//   npm run fuzz -- [--runs 100000] [--seed N] [--engine sqlite|postgres|both] [--only name,name]
// --runs is the total number of cases, shared evenly by the properties. PostgreSQL comes from
// GRAPH_MEETINGS_TEST_POSTGRES_URL, or a throwaway cluster as in the tests.
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { type Engine, PROPERTIES, startFuzzTarget } from './properties.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    engine: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
  },
});
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
const engines: Engine[] = values.engine === 'both' ? ['sqlite', 'postgres'] : [values.engine as Engine];
const names = (values.only?.split(',') ?? Object.keys(PROPERTIES)) as (keyof typeof PROPERTIES)[];
const perProperty = Math.max(1, Math.ceil(Number(values.runs) / names.length / engines.length));

console.log(`fuzz campaign: seed ${seed}, ${perProperty} cases per property, engines ${engines.join(', ')}`);
let failed = false;
const started = Date.now();
for (const engine of engines) {
  const target = await startFuzzTarget(engine);
  try {
    for (const name of names) {
      target.statuses.clear();
      const t0 = Date.now();
      const result = await fc.check(PROPERTIES[name](target), { seed, numRuns: perProperty, endOnFailure: true });
      const seconds = (Date.now() - t0) / 1000;
      const statuses = [...target.statuses.entries()].map(([property, counts]) => `${property}: ${[...counts.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
      console.log(`${engine} ${name}: ${result.numRuns} cases in ${seconds.toFixed(1)} s (${(result.numRuns / seconds).toFixed(0)}/s) ${result.failed ? 'FAILED' : 'ok'}`);
      for (const line of statuses) console.log(`    ${line}`);
      if (result.failed) {
        failed = true;
        // Counterexamples can hold 200 KB strings: show their start and the error, in full via --seed.
        console.log((fc.defaultReportMessage(result) ?? "").slice(0, 1500));
        console.log(String((result.errorInstance as Error | undefined)?.stack ?? result.errorInstance).slice(0, 1500));
      }
    }
  } finally {
    await target.close();
  }
}
console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${failed ? 'FAILURES (reproduce with --seed ' + seed + ')' : 'no failures'}`);
process.exit(failed ? 1 : 0);
