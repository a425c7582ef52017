// The bound on the meetings caches: by count and by total weight, oldest out first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WeighedCache } from '../src/store/weighed-cache.js';

const keysOf = (cache: WeighedCache<string, number>, keys: string[]) => keys.filter((k) => cache.get(k) !== undefined);

test('past its entry limit, the oldest entries go first', () => {
  const cache = new WeighedCache<string, number>(3, 1_000);
  for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) cache.set(key, i, 1);
  assert.deepEqual(keysOf(cache, ['a', 'b', 'c', 'd']), ['b', 'c', 'd']);
  assert.equal(cache.size, 3);
  assert.equal(cache.weight, 3);
});

test('past its weight limit, as many of the oldest entries go as it takes', () => {
  const cache = new WeighedCache<string, number>(100, 10);
  cache.set('a', 1, 4);
  cache.set('b', 2, 4);
  cache.set('c', 3, 1);
  cache.set('d', 4, 9); // 18 in all: a and b must go, and c (1 + 9 = 10) may stay
  assert.deepEqual(keysOf(cache, ['a', 'b', 'c', 'd']), ['c', 'd']);
  assert.equal(cache.weight, 10);
});

test('an entry heavier than the whole cache is not kept, and takes nothing out', () => {
  const cache = new WeighedCache<string, number>(100, 10);
  cache.set('a', 1, 5);
  cache.set('huge', 2, 11);
  assert.deepEqual(keysOf(cache, ['a', 'huge']), ['a']);
  assert.equal(cache.weight, 5);
});

test('setting a key again replaces its weight and makes it the newest', () => {
  const cache = new WeighedCache<string, number>(2, 100);
  cache.set('a', 1, 50);
  cache.set('b', 2, 10);
  cache.set('a', 3, 20);
  assert.equal(cache.weight, 30);
  cache.set('c', 4, 1); // b is now the oldest
  assert.deepEqual(keysOf(cache, ['a', 'b', 'c']), ['a', 'c']);
  assert.equal(cache.get('a'), 3);
  // Replaced by one too heavy to keep: the old value is gone too, never served stale.
  cache.set('a', 5, 101);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.weight, 1);
});

test('delete and clear give their weight back', () => {
  const cache = new WeighedCache<string, number>(10, 10);
  cache.set('a', 1, 6);
  cache.set('b', 2, 4);
  cache.delete('a');
  cache.delete('missing');
  assert.equal(cache.weight, 4);
  cache.set('c', 3, 6); // fits only because a's weight was given back
  assert.deepEqual(keysOf(cache, ['a', 'b', 'c']), ['b', 'c']);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.weight, 0);
  cache.set('d', 4, 10);
  assert.equal(cache.get('d'), 4);
});
