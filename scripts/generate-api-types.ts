/** npm run generate:api — writes web/src/api/schema.d.ts from the hub's OpenAPI document. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { generateApiTypes, SCHEMA_FILE } from './api-types.js';

await mkdir(dirname(SCHEMA_FILE), { recursive: true });
await writeFile(SCHEMA_FILE, await generateApiTypes());
console.log(`wrote ${relative(process.cwd(), SCHEMA_FILE)}`);
