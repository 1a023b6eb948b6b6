/**
 * Imported first by every CLI (before any dependency loads): on a Node older than package.json's
 * engines, one line on stderr and exit status 1, named after the script (`proxy: needs Node.js …`).
 */
import { parse } from 'node:path';
import { exitOnUnsupportedNode } from './node-support';

exitOnUnsupportedNode(parse(process.argv[1] ?? 'albatross').name);
