import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';

/**
 * Every migration, in order. Listed statically (not read from disk) so that the compiled
 * build, the tests and the CLI all apply exactly the same set.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};
