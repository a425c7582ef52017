// Property-based fuzzing (fast-check) of every body the server accepts, on both store engines.
// A bounded number of cases per run; the seed is printed so that a failure reproduces:
//   FUZZ_SEED=<seed> npm test -- … or `npm run fuzz -- --seed <seed>` for a long campaign.
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Engine, type FuzzTarget, PROPERTIES, startFuzzTarget } from './fuzz/properties.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 60;

for (const engine of ['sqlite', 'postgres'] as Engine[]) {
  describe(`fuzzing on ${engine} (seed ${SEED}, ${RUNS} cases per property)`, () => {
    let target: FuzzTarget;
    before(async () => {
      target = await startFuzzTarget(engine);
    });
    after(async () => {
      await target.close();
    });
    for (const [name, property] of Object.entries(PROPERTIES)) {
      test(`${name}: never a 5xx, errors Graph-shaped, 2xx stored and holding its key, 4xx storing nothing`, async (t) => {
        t.diagnostic(`FUZZ_SEED=${SEED}`);
        await fc.assert(property(target), { seed: SEED, numRuns: RUNS, endOnFailure: true });
      });
    }
  });
}
